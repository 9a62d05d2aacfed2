// TODO(merge): delete this file once client/src/e2ee/frame-crypto.ts imports
// '../media/sfu-session.ts' (the module's new name; frame-crypto.ts is not on
// this branch's side of the split, so it still imports the old path).
export type { FrameHooks, ReceiverInfo, SenderInfo } from './sfu-session.ts';
