// Per-sender SFrame base keys for one epoch, from the epoch key with HKDF-SHA256
// (WebCrypto, so it runs in browsers, workers and Node alike). Each sender has
// its own label (roster index and ID), so no two senders share a base key and
// (base key, KID, counter) can never repeat across senders.

import { CONTEXT, E2EE_VERSION, SIZE } from './constants.ts';
import { transcript } from './encoding.ts';
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

/** Base keys for every roster member, in roster order. */
export async function deriveFrameKeys(epochKey: Uint8Array, labels: EpochLabels, memberIds: readonly string[]): Promise<SenderKey[]> {
  const subtle = globalThis.crypto.subtle;
  const ikm = await subtle.importKey('raw', new Uint8Array(epochKey), 'HKDF', false, ['deriveBits']);
  const salt = frameKeySalt(labels);
  return Promise.all(
    memberIds.map(async (participantId, index) => {
      const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: frameKeyInfo(labels, index, participantId) }, ikm, SIZE.frameBaseKey * 8);
      return { participantId, index, kid: makeKid(labels.epoch, index), baseKey: new Uint8Array(bits) };
    }),
  );
}
