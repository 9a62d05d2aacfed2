// Human-comparable digit strings: a participant's fingerprint and the
// meeting's security code, and the epoch authenticator the code is made from.

import { CONTEXT, E2EE_VERSION, SIZE } from './constants.ts';
import { transcript } from './encoding.ts';
import type { HkdfSha256 } from './hkdf.ts';
import { hash } from './primitives.ts';
import type { EpochLabels } from './sender-keys.ts';

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

export function epochAuthenticatorInfo(l: EpochLabels, rosterHash: Uint8Array): Uint8Array {
  return transcript(CONTEXT.epochAuthenticator, { u32: E2EE_VERSION }, l.meetingId, l.instanceId, { u64: l.epoch }, rosterHash);
}

/**
 * The epoch authenticator (as in MLS and Discord's DAVE): derived from the
 * epoch key, so only its holders can compute it, and bound to the roster the
 * key came with. `hkdf` is extracted from the epoch key with frameKeySalt(labels),
 * like the frame and chat keys; the distinct info keeps it apart from them.
 */
export function epochAuthenticatorFrom(hkdf: HkdfSha256, labels: EpochLabels, rosterHash: Uint8Array): Uint8Array {
  return hkdf.expand(SIZE.epochAuthenticator, epochAuthenticatorInfo(labels, rosterHash));
}

/**
 * 6 groups of 5 digits that every holder of the same epoch sees: it covers the
 * roster hash (meeting, instance, epoch, chain, lock, exclusions and every
 * member's signed announcement) and the authenticator of the epoch key. A
 * leader (or server) that gives members different keys or different rosters
 * gives them different codes.
 */
export function securityCode(rosterHash: Uint8Array, authenticator: Uint8Array): string {
  return digitGroups(hash(transcript(CONTEXT.securityCode, { u32: E2EE_VERSION }, rosterHash, authenticator), 64), 6);
}
