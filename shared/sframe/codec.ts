// The project's wire layout of one media frame:
//
//   [codec clear bytes][SFrame header][ciphertext][tag]
//
// The clear bytes stay readable so the SFU can still detect keyframes, and are
// the SFrame metadata, so they are authenticated (AAD = header || clear bytes).
// The receiver derives their count exactly as the sender did, from the codec
// and the first byte only (never from a length field an attacker could edit):
//
//   VP8 keyframe 10 (3-byte frame tag + 7-byte start code and dimensions),
//   VP8 delta 3 (frame tag), Opus 1 (TOC byte), VP9 and anything else 0.
//
// The VP8 keyframe bit is the P bit, the lowest bit of byte 0 (0 = keyframe),
// which is itself a clear byte and therefore authenticated: flipping it moves
// where the receiver looks for the header, and the frame fails to open.
//
// Frames shorter than their codec's clear bytes are refused by the sender
// (MALFORMED/FRAME_TOO_SHORT) rather than shortening the clear part, because a
// receiver could not tell a shortened clear part from a normal one. Such frames
// are not valid VP8/Opus frames anyway, and the caller drops them.

import { gcmDecrypt, gcmEncrypt } from './aead.ts';
import { concatBytes, type Bytes } from './bytes.ts';
import type { KeyContext } from './derive.ts';
import { fail, ok, type Result } from './errors.ts';
import { openParts, scratchNonce, sealParts } from './frame.ts';
import { checkedHeaderLength, decodeHeader, MAX_HEADER_LENGTH, writeHeader, type SFrameHeader } from './header.ts';

export type MediaCodec = 'vp8' | 'vp9' | 'opus' | (string & {});

export const VP8_KEYFRAME_CLEAR_BYTES = 10;
export const VP8_DELTA_CLEAR_BYTES = 3;
export const OPUS_CLEAR_BYTES = 1;

/** 'VP8', 'video/VP8' and 'vp8' all name the same codec. */
export function normalizeCodec(codec: string): string {
  const c = codec.toLowerCase();
  const slash = c.indexOf('/');
  return slash >= 0 ? c.slice(slash + 1) : c;
}

/** normalizeCodec per codec string: every transform asks with the same string for every frame. */
const codecKinds = new Map<string, string>();

function codecKind(codec: string): string {
  let kind = codecKinds.get(codec);
  if (kind === undefined) {
    kind = normalizeCodec(codec);
    if (codecKinds.size >= 64) codecKinds.clear(); // codec strings come from the page; keep the memo small
    codecKinds.set(codec, kind);
  }
  return kind;
}

/**
 * Clear bytes for a frame of this codec whose first byte is `firstByte` and
 * whose length is `length`, or undefined if the frame is too short to hold
 * them. The sender passes the plaintext frame, the receiver the wire frame;
 * both see the same first byte, so both get the same count.
 */
export function clearByteCount(codec: MediaCodec, firstByte: number | undefined, length: number): number | undefined {
  let n: number;
  switch (codecKind(codec)) {
    case 'vp8':
      if (firstByte === undefined) return undefined;
      n = (firstByte & 0x01) === 0 ? VP8_KEYFRAME_CLEAR_BYTES : VP8_DELTA_CLEAR_BYTES;
      break;
    case 'opus':
      n = OPUS_CLEAR_BYTES;
      break;
    default:
      n = 0;
  }
  return length >= n ? n : undefined;
}

/** MALFORMED/FRAME_TOO_SHORT: the frame cannot hold its codec's clear bytes. */
export function frameTooShort<T>(codec: MediaCodec, length: number): Result<T> {
  return fail('MALFORMED', `${codec} frame of ${length} bytes is shorter than its clear bytes`, 'FRAME_TOO_SHORT');
}

// ---- AES-GCM fast path (suites 4, 5) ----
//
// One WebCrypto call per frame and one copy of its result: the AAD
// (header || clear bytes) is built in a scratch buffer that WebCrypto copies
// when the call starts, and the output frame is allocated once at its final
// size, with the clear bytes and the header written straight into it.

/** Largest clear part clearByteCount gives (VP8 keyframe). */
const MAX_CLEAR_BYTES = 10;
const AAD_SCRATCH = new ArrayBuffer(MAX_HEADER_LENGTH + MAX_CLEAR_BYTES);
/** One view per AAD length, so a frame allocates no AAD view (off-heap: WebCrypto reads it as is). */
const AAD_VIEWS: readonly Bytes[] = Array.from({ length: AAD_SCRATCH.byteLength + 1 }, (_, n) => new Uint8Array(AAD_SCRATCH, 0, n));

/**
 * The AES-GCM key of ctx if a frame with this layout can take the fast path,
 * else undefined (other suites; headerLength 0, i.e. KID or CTR out of range,
 * which the generic path reports).
 */
export function gcmFastKey(ctx: KeyContext, clear: number, headerLength: number): CryptoKey | undefined {
  return ctx.aead.aead === 'AES-GCM' && headerLength > 0 && clear + headerLength < AAD_VIEWS.length ? ctx.aead.key : undefined;
}

/**
 * Sender, AES-GCM: writes AAD = header || clear bytes and the nonce into
 * scratch and starts the encryption; resolves to ciphertext || tag. The
 * scratch may be reused as soon as this returns.
 */
export function startGcmSeal(ctx: KeyContext, key: CryptoKey, ctr: bigint, clear: number, headerLength: number, frame: Uint8Array): Promise<ArrayBuffer> {
  const aad = AAD_VIEWS[headerLength + clear]!;
  writeHeader(aad, 0, ctx.kid, ctr);
  for (let i = 0; i < clear; i++) aad[headerLength + i] = frame[i]!;
  const nonce = scratchNonce(ctx.salt, ctr);
  const sealed = gcmEncrypt(key, ctx.suite.nt, nonce, aad, frame.subarray(clear));
  nonce.fill(0); // WebCrypto holds its own copy; salt XOR CTR must not outlive an erased key here
  return sealed;
}

/** [clear][header][ciphertext][tag] in one allocation; the header is written again, not read back from scratch. */
export function layoutSealed(kid: bigint, ctr: bigint, clear: number, headerLength: number, frame: Uint8Array, sealed: ArrayBuffer): Bytes {
  const out = new Uint8Array(clear + headerLength + sealed.byteLength);
  for (let i = 0; i < clear; i++) out[i] = frame[i]!;
  writeHeader(out, clear, kid, ctr);
  out.set(new Uint8Array(sealed), clear + headerLength);
  return out;
}

/**
 * Receiver, AES-GCM: AAD = the frame's header bytes || its clear bytes, into
 * scratch; starts the decryption of what follows the header. Rejects if the
 * tag does not verify. The caller checked the body holds at least a tag.
 */
export function startGcmOpen(ctx: KeyContext, key: CryptoKey, ctr: bigint, clear: number, headerLength: number, frame: Uint8Array): Promise<ArrayBuffer> {
  const aad = AAD_VIEWS[headerLength + clear]!;
  for (let i = 0; i < headerLength; i++) aad[i] = frame[clear + i]!;
  for (let i = 0; i < clear; i++) aad[headerLength + i] = frame[i]!;
  const nonce = scratchNonce(ctx.salt, ctr);
  const opened = gcmDecrypt(key, ctx.suite.nt, nonce, aad, frame.subarray(clear + headerLength));
  nonce.fill(0);
  return opened;
}

/** [clear][plaintext] in one allocation; without clear bytes, WebCrypto's buffer is the frame as is. */
export function layoutOpened(clear: number, frame: Uint8Array, plaintext: ArrayBuffer): Bytes {
  if (clear === 0) return new Uint8Array(plaintext);
  const out = new Uint8Array(clear + plaintext.byteLength);
  for (let i = 0; i < clear; i++) out[i] = frame[i]!;
  out.set(new Uint8Array(plaintext), clear);
  return out;
}

export function tagTooShort<T>(nt: number): Result<T> {
  return fail('MALFORMED', `ciphertext shorter than the ${nt}-byte tag`, 'FRAME_TOO_SHORT');
}

export function encryptFailed<T>(e: unknown): Result<T> {
  return fail('INTERNAL', `encryption failed: ${e instanceof Error ? e.message : String(e)}`);
}

/** WebCrypto reports a bad GCM tag only as an OperationError. */
export function authFailed<T>(): Result<T> {
  return fail('AUTH_FAILED', 'SFrame authentication failed');
}

/** Sender side: [clear][header][ciphertext][tag] under counter `ctr`. */
export function encryptMediaFrame(ctx: KeyContext, ctr: bigint, codec: MediaCodec, frame: Uint8Array): Promise<Result<Bytes>> {
  const clear = clearByteCount(codec, frame[0], frame.length);
  if (clear === undefined) return Promise.resolve(frameTooShort(codec, frame.length));
  const headerLength = checkedHeaderLength(ctx.kid, ctr);
  const key = gcmFastKey(ctx, clear, headerLength);
  if (!key) return sealMediaFrameParts(ctx, ctr, frame, clear);
  const kid = ctx.kid;
  return startGcmSeal(ctx, key, ctr, clear, headerLength, frame).then((sealed) => ok(layoutSealed(kid, ctr, clear, headerLength, frame, sealed)), encryptFailed<Bytes>);
}

/** Any suite, through sealParts (header and range errors come from there). */
async function sealMediaFrameParts(ctx: KeyContext, ctr: bigint, frame: Uint8Array, clear: number): Promise<Result<Bytes>> {
  const metadata = frame.subarray(0, clear);
  const parts = await sealParts(ctx, ctr, metadata, frame.subarray(clear));
  if (!parts.ok) return parts;
  return ok(concatBytes(metadata, parts.value.header, parts.value.body));
}

/** A received frame split at the boundaries the codec rule and the header give. */
export interface MediaFrameParts {
  readonly metadata: Uint8Array;
  readonly header: SFrameHeader;
  readonly headerBytes: Uint8Array;
  /** ciphertext || tag */
  readonly body: Uint8Array;
}

/** Receiver side, synchronous: finds the clear bytes and decodes the header (no key needed). */
export function parseMediaFrame(codec: MediaCodec, frame: Uint8Array): Result<MediaFrameParts> {
  const clear = clearByteCount(codec, frame[0], frame.length);
  if (clear === undefined) return frameTooShort(codec, frame.length);
  const header = decodeHeader(frame, clear);
  if (!header.ok) return header;
  const bodyAt = clear + header.value.length;
  return ok({
    metadata: frame.subarray(0, clear),
    header: header.value,
    headerBytes: frame.subarray(clear, bodyAt),
    body: frame.subarray(bodyAt),
  });
}

/** Opens parsed parts with the key for their KID; returns [clear][plaintext]. */
export function openMediaFrame(ctx: KeyContext, parts: MediaFrameParts): Promise<Result<Bytes>> {
  const { metadata, headerBytes, body } = parts;
  const key = gcmFastKey(ctx, metadata.length, headerBytes.length);
  if (!key) return openParts(ctx, parts.header, headerBytes, metadata, body).then((pt) => (pt.ok ? ok(concatBytes(metadata, pt.value)) : pt));
  if (body.length < ctx.suite.nt) return Promise.resolve(tagTooShort(ctx.suite.nt));
  const aad = AAD_VIEWS[headerBytes.length + metadata.length]!;
  aad.set(headerBytes);
  aad.set(metadata, headerBytes.length);
  const nonce = scratchNonce(ctx.salt, parts.header.ctr);
  const opened = gcmDecrypt(key, ctx.suite.nt, nonce, aad, body);
  nonce.fill(0);
  return opened.then((pt) => ok(layoutOpened(metadata.length, metadata, pt)), authFailed<Bytes>);
}

export interface DecryptedMediaFrame {
  readonly kid: bigint;
  readonly ctr: bigint;
  /** The original frame: clear bytes followed by the decrypted rest. */
  readonly data: Bytes;
}

/** Receiver side without replay protection (the key store adds it). */
export async function decryptMediaFrame(
  keyFor: (kid: bigint) => KeyContext | undefined,
  codec: MediaCodec,
  frame: Uint8Array,
): Promise<Result<DecryptedMediaFrame>> {
  const parts = parseMediaFrame(codec, frame);
  if (!parts.ok) return parts;
  const { kid, ctr } = parts.value.header;
  const ctx = keyFor(kid);
  if (!ctx || ctx.kid !== kid) return fail('UNKNOWN_KID', `no key for KID ${kid}`);
  const data = await openMediaFrame(ctx, parts.value);
  return data.ok ? ok({ kid, ctr, data: data.value }) : data;
}
