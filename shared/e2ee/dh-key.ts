// Which X25519 public keys we accept from others. RFC 7748 asks X25519 itself
// to accept any 32 bytes (it masks bit 255 and reduces u mod p); we are free to
// be stricter at the protocol layer, and are: a key must be the canonical
// encoding of a u-coordinate whose shared secret with any private key is not
// all zero. One bad key could otherwise make the leader's key message fail
// (libsodium refuses an all-zero shared secret) and stall every rotation.

import { SIZE } from './constants.ts';
import { fail, ok, type Result } from './errors.ts';

/** The field prime of Curve25519, 2^255 − 19. */
const P = 2n ** 255n - 19n;

/**
 * The u-coordinates of the points of small order on the curve and its twist
 * (orders 1, 2, 4 and 8): a private key, which X25519 clamps to a multiple
 * of 8, multiplied with any of them gives 0. Their other encodings (u + p, and
 * every encoding with bit 255 set) are refused as non-canonical.
 */
const SMALL_ORDER = new Set<bigint>([
  0n,
  1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
  P - 1n,
]);

/** Little-endian bytes as an unsigned integer. */
function littleEndian(bytes: Uint8Array): bigint {
  let u = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) u = (u << 8n) | BigInt(bytes[i] ?? 0);
  return u;
}

/**
 * BAD_PUBLIC_KEY unless `key` is 32 bytes, bit 255 is clear, u < 2^255 − 19
 * (canonical), and u is not one of the small-order points. Any other u gives a
 * non-zero shared secret with every clamped private key.
 */
export function checkDhPublicKey(key: Uint8Array, whose = 'X25519 key'): Result<Uint8Array> {
  if (key.length !== SIZE.dhPublicKey) return fail('BAD_PUBLIC_KEY', `${whose} is not ${SIZE.dhPublicKey} bytes`);
  if (((key[SIZE.dhPublicKey - 1] ?? 0) & 0x80) !== 0) return fail('BAD_PUBLIC_KEY', `${whose} sets bit 255 (non-canonical)`);
  const u = littleEndian(key);
  if (u >= P) return fail('BAD_PUBLIC_KEY', `${whose} is not reduced modulo 2^255 - 19 (non-canonical)`);
  if (SMALL_ORDER.has(u)) return fail('BAD_PUBLIC_KEY', `${whose} is a point of small order (all-zero shared secret)`);
  return ok(key);
}
