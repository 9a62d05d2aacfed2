// The worker's key state: the shared SFrame key store, with its errors mapped
// to the drop reasons the UI counts, and a check that a frame decrypts under a
// key of the participant whose consumer delivered it (a server that re-routes
// one member's frames into another's tile is caught here: WRONG_SENDER).

import {
  SFrameKeyStore,
  type Bytes,
  type DecryptedFrame,
  type EncryptedFrame,
  type KeyStoreOptions,
  type Result,
  type SFrameErrorCode,
} from '../../../../shared/sframe/index.ts';
import type { DropReason } from './protocol.ts';

export type FrameResult = { ok: true; data: Bytes; kid: bigint } | { ok: false; code: DropReason; message: string };

function reason(code: SFrameErrorCode): DropReason {
  switch (code) {
    case 'NO_KEY':
    case 'UNKNOWN_KID':
    case 'AUTH_FAILED':
    case 'REPLAY':
    case 'MALFORMED':
      return code;
    case 'CTR_EXHAUSTED':
      return 'NO_KEY';
    default:
      return 'INTERNAL';
  }
}

function sent(r: Result<EncryptedFrame>): FrameResult {
  return r.ok ? { ok: true, data: r.value.data, kid: r.value.kid } : { ok: false, code: reason(r.error.code), message: r.error.message };
}

function received(r: Result<DecryptedFrame>, expectedOwner: string): FrameResult {
  if (!r.ok) return { ok: false, code: reason(r.error.code), message: r.error.message };
  if (r.value.owner !== expectedOwner) {
    return { ok: false, code: 'WRONG_SENDER', message: `frame is from ${String(r.value.owner)}, not ${expectedOwner}` };
  }
  return { ok: true, data: r.value.data, kid: r.value.kid };
}

export class WorkerKeys {
  private readonly store: SFrameKeyStore;

  /**
   * No onReserve: the counter reservation of SFrameKeyStore guards a worker
   * restart within a key's life, which never happens here. The page starts a
   * fresh worker for every meeting instance it joins (FrameCrypto.reset on a
   * rejoin), and no key outlives its instance: a new worker gets new keys.
   * Within one worker the store's counter already only grows.
   */
  constructor(options: Pick<KeyStoreOptions, 'suite' | 'now' | 'schedule'> = {}) {
    this.store = new SFrameKeyStore(options);
  }

  /** One continuation on the store's promise; the store takes the counter synchronously. */
  encrypt(codec: string, data: Uint8Array): Promise<FrameResult> {
    return this.store.encrypt(codec, data).then(sent);
  }

  decrypt(codec: string, data: Uint8Array, expectedOwner: string): Promise<FrameResult> {
    return this.store.decrypt(codec, data).then((r) => received(r, expectedOwner));
  }

  addReceiveKey(kid: bigint, participantId: string, baseKey: Uint8Array): Promise<Result<void>> {
    return this.store.addReceiveKey(kid, baseKey, { owner: participantId });
  }

  /**
   * Refused (other than SUPERSEDED), no send key is left: the store drops the
   * previous one, so frames give NO_KEY rather than go out under a key that
   * the members we just re-keyed without (a leaver) still hold.
   */
  setSendKey(kid: bigint, baseKey: Uint8Array): Promise<Result<void>> {
    return this.store.setSendKey(kid, baseKey);
  }

  get sendKid(): bigint | undefined {
    return this.store.sendKid;
  }

  retire(kid: bigint, graceMs: number): void {
    this.store.retire(kid, graceMs);
  }

  clearSendKey(): void {
    this.store.clearSendKey();
  }
}
