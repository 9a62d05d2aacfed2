// SFrame key IDs. One KID names one sender's key for one media source in one
// epoch:
//
//   KID = epoch << 16 | rosterIndex << 2 | source      (64 bits)
//
//   bits 63..16  epoch        (48 bits)
//   bits 15..2   roster index (14 bits: 16,384 senders; the server admits 250)
//   bits  1..0   source       (1 microphone, 2 camera, 3 screen; 0 is never a frame's KID)
//
// A frame's KID alone tells a receiver which epoch, sender and source key to
// use. The KID is in every SFrame key and salt derivation label (RFC 9605
// §4.4.2) and in the AAD, so the source is bound into the frame's key: a
// server cannot move a camera frame into a screen share (or one member's
// frames into another's tile) without the receiver seeing a KID for another
// source (WRONG_SOURCE) or sender (WRONG_SENDER).
//
// The agent hands out one base key per sender under its sender KID (source
// bits 0, a label only): the frame worker installs the sender's three source
// KIDs (mediaKid) under that one base key.
//
// On the wire only the camera and screen share carry these KIDs. The
// microphone's frames carry a compact KID, the epoch modulo 8 (audio-key.ts):
// small enough for the SFrame config byte, with the sender known from the
// stream the receiver opened. mediaKid(kid, 'mic') stays the microphone's
// name inside the worker (its counters and stats).

import { LIMITS } from './constants.ts';

export const KID_SOURCE_BITS = 2n;
export const KID_INDEX_BITS = 14n;
/** Index and source together: the epoch starts above them. */
export const KID_EPOCH_SHIFT = KID_INDEX_BITS + KID_SOURCE_BITS;
export const MAX_ROSTER_INDEX = (1 << Number(KID_INDEX_BITS)) - 1;

/** The media sources a frame can come from (the same names as the signaling protocol's). */
export type KidSource = 'mic' | 'camera' | 'screen';
export const KID_SOURCES: readonly KidSource[] = ['mic', 'camera', 'screen'];
const SOURCE_CODE: Record<KidSource, bigint> = { mic: 1n, camera: 2n, screen: 3n };
const SOURCE_MASK = (1n << KID_SOURCE_BITS) - 1n;

/** The sender KID of roster member `index` in `epoch` (source bits 0): names the sender's base key, never a frame. */
export function makeKid(epoch: number, index: number): bigint {
  if (!Number.isSafeInteger(epoch) || epoch < 1 || epoch > LIMITS.maxEpoch) throw new RangeError(`epoch ${epoch} out of range`);
  if (!Number.isInteger(index) || index < 0 || index > MAX_ROSTER_INDEX) throw new RangeError(`roster index ${index} out of range`);
  return (BigInt(epoch) << KID_EPOCH_SHIFT) | (BigInt(index) << KID_SOURCE_BITS);
}

/** The KID a sender's frames of one source carry. */
export function mediaKid(senderKid: bigint, source: KidSource): bigint {
  return (senderKid & ~SOURCE_MASK) | SOURCE_CODE[source];
}

/** The sender KID a frame's KID belongs to (source bits cleared). */
export function senderKidOf(kid: bigint): bigint {
  return kid & ~SOURCE_MASK;
}

/** The source a KID names, or undefined for a sender KID (source bits 0). */
export function kidSource(kid: bigint): KidSource | undefined {
  return KID_SOURCES[Number(kid & SOURCE_MASK) - 1];
}

export function kidEpoch(kid: bigint): number {
  return Number(kid >> KID_EPOCH_SHIFT);
}

export function kidIndex(kid: bigint): number {
  return Number((kid >> KID_SOURCE_BITS) & BigInt(MAX_ROSTER_INDEX));
}
