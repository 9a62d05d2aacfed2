// HKDF (RFC 5869) on WebCrypto HMAC. Written out rather than using WebCrypto's
// HKDF so every intermediate value (the secret, each output) is visible to the
// test vectors. Runs only at key setup, never per frame.

import { asBufferSource, concatBytes, type Bytes } from './bytes.ts';
import type { HashName } from './suites.ts';

const HASH_LEN: Record<HashName, number> = { 'SHA-256': 32, 'SHA-512': 64 };

export async function hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Promise<Bytes> {
  const k = await crypto.subtle.importKey('raw', asBufferSource(key), { name: 'HMAC', hash }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, asBufferSource(data)));
}

/**
 * PRK = HMAC(salt, IKM). An empty salt becomes HashLen zero bytes: RFC 5869's
 * default, and the same HMAC key as "" (keys are zero-padded to the block size),
 * which WebCrypto refuses to import.
 */
export function hkdfExtract(hash: HashName, salt: Uint8Array, ikm: Uint8Array): Promise<Bytes> {
  return hmac(hash, salt.length > 0 ? salt : new Uint8Array(HASH_LEN[hash]), ikm);
}

/** OKM = first `length` bytes of T(1) || T(2) || …, T(i) = HMAC(PRK, T(i-1) || info || i). */
export async function hkdfExpand(hash: HashName, prk: Uint8Array, info: Uint8Array, length: number): Promise<Bytes> {
  const hashLen = HASH_LEN[hash];
  if (!Number.isInteger(length) || length < 0 || length > 255 * hashLen) throw new RangeError(`HKDF-Expand length ${length} out of range`);
  const key = await crypto.subtle.importKey('raw', asBufferSource(prk), { name: 'HMAC', hash }, false, ['sign']);
  const out = new Uint8Array(length);
  let t: Uint8Array = new Uint8Array(0);
  for (let i = 1, done = 0; done < length; i++) {
    t = new Uint8Array(await crypto.subtle.sign('HMAC', key, concatBytes(t, info, Uint8Array.of(i))));
    out.set(t.subarray(0, Math.min(t.length, length - done)), done);
    done += t.length;
  }
  return out;
}
