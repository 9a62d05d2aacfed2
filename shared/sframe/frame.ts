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
  const nonce = new Uint8Array(salt);
  let x = ctr;
  for (let i = nonce.length - 1; i >= 0 && x > 0n; i--) {
    nonce[i] = (nonce[i] ?? 0) ^ Number(x & 0xffn);
    x >>= 8n;
  }
  return nonce;
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
export function openParts(ctx: KeyContext, header: SFrameHeader, headerBytes: Uint8Array, metadata: Uint8Array, body: Uint8Array): Promise<Result<Bytes>> {
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
