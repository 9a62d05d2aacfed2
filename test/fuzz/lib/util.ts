// What the signaling fuzz suites share: the seed, the rate plans, waiting, and
// valid-looking RTP and DTLS parameters.

import { LIMITS, type ErrorCode, type JsonObject } from '../../../shared/protocol/signaling.ts';
import { Rng } from '../rng.ts';

export const SEED = 0x51_9e_a1_05;
/**
 * Paced connections: half the burst at once, then just under the sustained
 * rate. The bucket only starts refilling when the server reads the first
 * message, so the other half of the burst absorbs the server's own lag.
 */
export const PACED = { count: 6, messages: 1_900, burst: LIMITS.rateBurst / 2, perSecond: LIMITS.ratePerSecond * 0.92 };
/** One connection that goes over the rate limit on purpose. */
export const GREEDY = { count: 1, messages: 1_600, burst: LIMITS.rateBurst * 0.9, perSecond: LIMITS.ratePerSecond * 1.6 };

export const ERROR_CODES: readonly ErrorCode[] = [
  'BAD_JSON',
  'BAD_MESSAGE',
  'TOO_LARGE',
  'RATE_LIMITED',
  'UNSUPPORTED_VERSION',
  'NOT_JOINED',
  'ALREADY_JOINED',
  'MEETING_FULL',
  'CALL_FULL',
  'MODE_MISMATCH',
  'UNKNOWN_TRANSPORT',
  'UNKNOWN_PRODUCER',
  'UNKNOWN_CONSUMER',
  'UNKNOWN_PARTICIPANT',
  'CANNOT_CONSUME',
  'MEDIA_ERROR',
  'INTERNAL',
];
export const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export const opusRtp = (ssrc: number): JsonObject => ({
  codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
  encodings: [{ ssrc }],
  headerExtensions: [],
  rtcp: { cname: `c${ssrc}` },
});
export const vp8Rtp = (ssrc: number): JsonObject => ({
  codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }],
  encodings: [{ ssrc }],
  headerExtensions: [],
  rtcp: { cname: `c${ssrc}` },
});
export const dtls = (rng: Rng): JsonObject => ({
  role: rng.pick(['client', 'server', 'auto']),
  fingerprints: [
    { algorithm: 'sha-256', value: Array.from(rng.bytes(32), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':') },
  ],
});
