// Byte helpers every shared module uses (SFrame, key agreement): one definition
// each. Browser-safe: no Node Buffer. Hex and concatenation come from
// @noble/hashes (already a dependency for SHA-256), wrapped only where our
// callers need a different contract.

import { bytesToHex as nobleBytesToHex, concatBytes as nobleConcatBytes, hexToBytes as nobleHexToBytes } from '@noble/hashes/utils.js';

/** A Uint8Array over a plain ArrayBuffer: what WebCrypto accepts and returns. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** One new array holding the parts in order (always a copy, even of a single part). */
export function concatBytes(...parts: readonly Uint8Array[]): Bytes {
  // noble's result is a fresh array over its own ArrayBuffer; the cast only narrows the static type.
  return nobleConcatBytes(...parts) as Bytes;
}

/**
 * Equality without an early exit, so the time taken does not reveal where two
 * secrets (tags, hashes, nonces) first differ. Only the length may leak, and
 * lengths here are public.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Lowercase hex, two digits per byte. */
export function bytesToHex(b: Uint8Array): string {
  return nobleBytesToHex(b);
}

/** Parses an even-length hex string (either case); undefined if it is not one, where noble would throw. */
export function hexToBytes(hex: string): Bytes | undefined {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  return nobleHexToBytes(hex) as Bytes;
}
