// Per-sender SFrame base keys for one epoch, from the epoch key with HKDF-SHA256
// (RFC 5869; computed synchronously in hkdf.ts, identical to WebCrypto's HKDF).
// Each sender has its own label (roster index and ID), so no two senders share
// a base key and (base key, KID, counter) can never repeat across senders.

import { CONTEXT, E2EE_VERSION, SIZE } from './constants.ts';
import { transcript } from './encoding.ts';
import { HkdfSha256 } from './hkdf.ts';
import { makeKid } from './kid.ts';

export interface SenderKey {
  participantId: string;
  index: number;
  kid: bigint;
  /** SFrame base_key (RFC 9605 §4.4.2), 32 bytes. */
  baseKey: Uint8Array;
}

export interface EpochLabels {
  meetingId: string;
  instanceId: string;
  epoch: number;
}

/** HKDF salt: names meeting, instance and epoch. */
export function frameKeySalt(l: EpochLabels): Uint8Array<ArrayBuffer> {
  return new Uint8Array(transcript(CONTEXT.frameSalt, { u32: E2EE_VERSION }, l.meetingId, l.instanceId, { u64: l.epoch }));
}

/** HKDF info: names the sender. */
export function frameKeyInfo(l: EpochLabels, index: number, participantId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(transcript(CONTEXT.frameBaseKey, { u64: l.epoch }, { u32: index }, participantId));
}

/**
 * Base keys for every roster member, in roster order, from an HKDF already
 * extracted from the epoch key with frameKeySalt(labels). The info is
 * frameKeyInfo(labels, index, id), fed as its epoch prefix and sender suffix
 * (a transcript is the concatenation of its fields).
 */
export function frameKeysFrom(hkdf: HkdfSha256, labels: EpochLabels, memberIds: readonly string[]): SenderKey[] {
  const prefix = transcript(CONTEXT.frameBaseKey, { u64: labels.epoch });
  return memberIds.map((participantId, index) => ({
    participantId,
    index,
    kid: makeKid(labels.epoch, index),
    baseKey: hkdf.expand(SIZE.frameBaseKey, prefix, transcript({ u32: index }, participantId)),
  }));
}

/** Base keys for every roster member, in roster order. */
export function deriveFrameKeysSync(epochKey: Uint8Array, labels: EpochLabels, memberIds: readonly string[]): SenderKey[] {
  const hkdf = new HkdfSha256(epochKey, frameKeySalt(labels));
  try {
    return frameKeysFrom(hkdf, labels, memberIds);
  } finally {
    hkdf.destroy();
  }
}

/** Base keys for every roster member, in roster order (async for existing callers; the work is synchronous). */
export async function deriveFrameKeys(epochKey: Uint8Array, labels: EpochLabels, memberIds: readonly string[]): Promise<SenderKey[]> {
  return deriveFrameKeysSync(epochKey, labels, memberIds);
}
