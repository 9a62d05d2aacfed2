// Byte helpers shared by the SFrame modules. Browser-safe: no Node Buffer.

/** A Uint8Array over a plain ArrayBuffer: what WebCrypto accepts and returns. */
export type Bytes = Uint8Array<ArrayBuffer>;

export const MAX_U64 = (1n << 64n) - 1n;

export function isU64(v: bigint): boolean {
  return v >= 0n && v <= MAX_U64;
}

/** WebCrypto wants ArrayBuffer-backed views; the cast only widens the static type. */
export function asBufferSource(b: Uint8Array): Bytes {
  return b as Bytes;
}

export function concatBytes(...parts: readonly Uint8Array[]): Bytes {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
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

/** Compares without an early exit, so timing does not reveal where two tags differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Parses an even-length hex string; undefined if it is not one. */
export function hexToBytes(hex: string): Bytes | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
