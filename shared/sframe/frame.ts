// SFrame encryption of one plaintext (RFC 9605 §4.4.3-4.4.4):
//   nonce = sframe_salt XOR CTR (CTR big-endian, left-padded to Nn)
//   aad   = header || metadata
//   out   = header || AEAD.Encrypt(sframe_key, nonce, aad, plaintext)
// Pure functions over a KeyContext; counters and replay are the caller's job.

import { aeadOpen, aeadSeal } from './aead.ts';
import { concatBytes, type Bytes } from './bytes.ts';
import type { KeyContext } from './derive.ts';
import { fail, ok, type Result } from './errors.ts';
import { decodeHeader, encodeHeader, type SFrameHeader } from './header.ts';

export function sframeNonce(salt: Uint8Array, ctr: bigint): Bytes {
  const nonce = new Uint8Array(salt.length);
  writeNonce(nonce, salt, ctr);
  return nonce;
}

/**
 * Writes salt XOR CTR into `out` (same length as salt). CTR is below 2^64, so
 * it is XORed as two 32-bit halves: two BigInt operations at most, none for
 * counters below 2^32. Bytes of CTR beyond the nonce length are dropped, as
 * they would be by a byte-wise loop.
 */
export function writeNonce(out: Uint8Array, salt: Uint8Array, ctr: bigint): void {
  if (ctr <= 0xffffffffn) xorHalves(out, salt, Number(ctr), 0);
  else xorHalves(out, salt, Number(ctr & 0xffffffffn), Number((ctr >> 32n) & 0xffffffffn));
}

/** writeNonce for a CTR in 0..2^53-1 given as a Number (exact): same bytes, no BigInt. */
export function writeNonceN(out: Uint8Array, salt: Uint8Array, ctr: number): void {
  xorHalves(out, salt, ctr % 0x100000000, Math.floor(ctr / 0x100000000));
}

/** out = salt, then the low 8 bytes XORed with hi || lo (two 32-bit halves, big-endian). */
function xorHalves(out: Uint8Array, salt: Uint8Array, lo: number, hi: number): void {
  const n = salt.length;
  for (let i = 0; i < n; i++) out[i] = salt[i]!;
  for (let k = 0; k < 4 && n - 1 - k >= 0; k++) out[n - 1 - k]! ^= (lo >>> (8 * k)) & 0xff;
  for (let k = 0; k < 4 && n - 5 - k >= 0; k++) out[n - 5 - k]! ^= (hi >>> (8 * k)) & 0xff;
}

/** Every suite's Nn. */
const NONCE_SCRATCH = new Uint8Array(new ArrayBuffer(12));

/**
 * The nonce for (salt, ctr) in a buffer shared by all callers, valid until the
 * next call: only for handing straight to gcmEncrypt/gcmDecrypt, which copy it.
 * An off-heap buffer, so WebCrypto reads it without V8 first moving it off
 * the heap.
 */
export function scratchNonce(salt: Uint8Array, ctr: bigint): Bytes {
  if (salt.length !== NONCE_SCRATCH.length) return sframeNonce(salt, ctr);
  writeNonce(NONCE_SCRATCH, salt, ctr);
  return NONCE_SCRATCH;
}

/** scratchNonce for a CTR in 0..2^53-1 given as a Number. */
export function scratchNonceN(salt: Uint8Array, ctr: number): Bytes {
  if (salt.length !== NONCE_SCRATCH.length) return sframeNonce(salt, BigInt(ctr));
  writeNonceN(NONCE_SCRATCH, salt, ctr);
  return NONCE_SCRATCH;
}

export function sframeAad(header: Uint8Array, metadata: Uint8Array): Bytes {
  return concatBytes(header, metadata);
}

/** The encrypted frame in two pieces, so callers can lay them out with a single copy. */
export interface SealedParts {
  readonly header: Bytes;
  /** ciphertext || tag */
  readonly body: Bytes;
}

export async function sealParts(ctx: KeyContext, ctr: bigint, metadata: Uint8Array, plaintext: Uint8Array): Promise<Result<SealedParts>> {
  const header = encodeHeader(ctx.kid, ctr);
  if (!header.ok) return header;
  const body = await aeadSeal(ctx.suite, ctx.aead, sframeNonce(ctx.salt, ctr), sframeAad(header.value, metadata), plaintext);
  if (!body.ok) return body;
  return ok({ header: header.value, body: body.value });
}

/** SFrame ciphertext: header || ciphertext || tag. */
export async function sframeEncrypt(ctx: KeyContext, ctr: bigint, metadata: Uint8Array, plaintext: Uint8Array): Promise<Result<Bytes>> {
  const parts = await sealParts(ctx, ctr, metadata, plaintext);
  return parts.ok ? ok(concatBytes(parts.value.header, parts.value.body)) : parts;
}

/** Opens a ciphertext whose header was already decoded (and whose KID selected ctx). */
export function openParts(
  ctx: KeyContext,
  header: SFrameHeader,
  headerBytes: Uint8Array,
  metadata: Uint8Array,
  body: Uint8Array,
): Promise<Result<Bytes>> {
  return aeadOpen(ctx.suite, ctx.aead, sframeNonce(ctx.salt, header.ctr), sframeAad(headerBytes, metadata), body);
}

export interface OpenedFrame {
  readonly kid: bigint;
  readonly ctr: bigint;
  readonly plaintext: Bytes;
}

/** Decrypts an SFrame ciphertext with the key for its KID, looked up by `keyFor`. */
export async function sframeDecrypt(
  keyFor: (kid: bigint) => KeyContext | undefined,
  metadata: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Result<OpenedFrame>> {
  const header = decodeHeader(ciphertext);
  if (!header.ok) return header;
  const { kid, ctr, length } = header.value;
  const ctx = keyFor(kid);
  if (!ctx || ctx.kid !== kid) return fail('UNKNOWN_KID', `no key for KID ${kid}`);
  const pt = await openParts(ctx, header.value, ciphertext.subarray(0, length), metadata, ciphertext.subarray(length));
  return pt.ok ? ok({ kid, ctr, plaintext: pt.value }) : pt;
}
