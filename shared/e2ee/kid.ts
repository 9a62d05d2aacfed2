// SFrame key IDs. One KID names one sender's key in one epoch:
//
//   KID = epoch << 16 | rosterIndex      (64 bits: 48-bit epoch, 16-bit index)
//
// 16 index bits allow 65,536 senders (the server admits 250), and a frame's
// KID alone tells a receiver which epoch and sender key to use.

import { LIMITS } from './constants.ts';

export const KID_INDEX_BITS = 16n;
export const MAX_ROSTER_INDEX = (1 << Number(KID_INDEX_BITS)) - 1;

export function makeKid(epoch: number, index: number): bigint {
  if (!Number.isSafeInteger(epoch) || epoch < 1 || epoch > LIMITS.maxEpoch) throw new RangeError(`epoch ${epoch} out of range`);
  if (!Number.isInteger(index) || index < 0 || index > MAX_ROSTER_INDEX) throw new RangeError(`roster index ${index} out of range`);
  return (BigInt(epoch) << KID_INDEX_BITS) | BigInt(index);
}

export function kidEpoch(kid: bigint): number {
  return Number(kid >> KID_INDEX_BITS);
}

export function kidIndex(kid: bigint): number {
  return Number(kid & BigInt(MAX_ROSTER_INDEX));
}
