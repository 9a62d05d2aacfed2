// Human-comparable digit strings: a participant's fingerprint and the
// meeting's security code.

import { CONTEXT, E2EE_VERSION } from './constants.ts';
import { compareBytes, transcript } from './encoding.ts';
import { hash } from './primitives.ts';

/**
 * Groups of decimal digits from a hash. Each group takes 5 bytes (40 bits) mod
 * 10^digits, so the modulo bias is below 10^-6 per group.
 */
export function digitGroups(digest: Uint8Array, groups: number, digits = 5): string {
  const out: string[] = [];
  for (let g = 0; g < groups; g++) {
    let n = 0;
    for (let i = 0; i < 5; i++) n = n * 256 + (digest[g * 5 + i] ?? 0);
    out.push(String(n % 10 ** digits).padStart(digits, '0'));
  }
  return out.join(' ');
}

/** 8 groups of 5 digits identifying an identity key (shown next to a name). */
export function fingerprint(identityPublicKey: Uint8Array): string {
  return digitGroups(hash(transcript(CONTEXT.fingerprint, identityPublicKey), 64), 8);
}

/**
 * 6 groups of 5 digits that every member of the same roster sees. It covers
 * the meeting, the instance and the multiset of identity keys (sorted, so
 * join order does not matter; duplicates kept, so a second tab counts).
 */
export function securityCode(meetingId: string, instanceId: string, identityKeys: readonly Uint8Array[]): string {
  const sorted = [...identityKeys].sort(compareBytes);
  const digest = hash(transcript(CONTEXT.securityCode, { u32: E2EE_VERSION }, meetingId, instanceId, { u32: sorted.length }, ...sorted), 64);
  return digitGroups(digest, 6);
}
