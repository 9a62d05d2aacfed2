// Where frame encryption attaches to every RTCRtpSender and RTCRtpReceiver.
// (Foundation: no transform yet.)

import type { FrameHooks } from '../media/session.ts';

export function createFrameHooks(): FrameHooks {
  return {
    peerConnectionSettings: () => ({}),
    onSender: () => {},
    onReceiver: () => {},
  };
}
