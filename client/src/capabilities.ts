// What a browser must have to hold an end-to-end encrypted meeting, tested by
// capability rather than by browser name. The core is pure over a probe of
// booleans; probeCapabilities() reads them from the page.

import { detectTransformPath } from './e2ee/frame-crypto.ts';

export type Capability = 'secure-context' | 'webcrypto' | 'worker' | 'webrtc' | 'encoded-transform' | 'websocket';

export type CapabilityProbe = Readonly<Record<Capability, boolean>>;

/** Why each capability is needed, in the words the unsupported-browser screen shows. */
export const CAPABILITY_TEXT: Readonly<Record<Capability, string>> = {
  'secure-context': 'a secure page (HTTPS, or localhost): browsers give encryption and the camera only to those',
  webcrypto: 'WebCrypto (crypto.subtle), which encrypts every frame',
  worker: 'Web Workers, where frames are encrypted off the page',
  webrtc: 'WebRTC (RTCPeerConnection), which carries the media',
  'encoded-transform':
    'WebRTC encoded transforms (RTCRtpScriptTransform, or encoded insertable streams), which let the page encrypt frames',
  websocket: 'WebSockets, for the meeting’s messages',
};

/** The capabilities the probe lacks, in a fixed order (empty: the browser can join). */
export function missingCapabilities(probe: CapabilityProbe): Capability[] {
  return (Object.keys(CAPABILITY_TEXT) as Capability[]).filter((c) => !probe[c]);
}

export function probeCapabilities(): CapabilityProbe {
  return {
    'secure-context': globalThis.isSecureContext === true,
    webcrypto: typeof crypto !== 'undefined' && typeof crypto.subtle?.encrypt === 'function',
    worker: typeof Worker === 'function',
    webrtc: typeof RTCPeerConnection === 'function',
    'encoded-transform': typeof RTCPeerConnection === 'function' && detectTransformPath() !== undefined,
    websocket: typeof WebSocket === 'function',
  };
}
