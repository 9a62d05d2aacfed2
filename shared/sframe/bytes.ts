// Byte helpers shared by the SFrame modules. Browser-safe: no Node Buffer.

// Concatenation, constant-time equality and hex live in shared/bytes.ts (one definition for all of shared/).
import type { Bytes } from '../bytes.ts';
export { bytesToHex, concatBytes, constantTimeEqual, hexToBytes, type Bytes } from '../bytes.ts';

export const MAX_U64 = (1n << 64n) - 1n;

export function isU64(v: bigint): boolean {
  return v >= 0n && v <= MAX_U64;
}

/** WebCrypto wants ArrayBuffer-backed views; the cast only widens the static type. */
export function asBufferSource(b: Uint8Array): Bytes {
  return b as Bytes;
}

/** Big-endian encoding of v in exactly `length` bytes (v must fit). */
export function bigintToBytes(v: bigint, length: number): Bytes {
  const out = new Uint8Array(length);
  let x = v;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

export function bytesToBigint(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}
