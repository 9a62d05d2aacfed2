// The one seal and the one open of a media frame, in the project's wire layout:
//
//   [codec clear bytes][SFrame header][ciphertext][tag]
//
// The clear bytes (clear-bytes.ts) stay readable so the SFU can still detect
// keyframes, and are the SFrame metadata, so they are authenticated
// (AAD = header || clear bytes). The key store, the tests and the benches all
// go through sealMediaFrame and openFrame (encryptMediaFrame and
// openMediaFrame are those two with the frame as the result), so what is
// measured and tested is what ships.
//
// Frames shorter than their codec's clear bytes are refused by the sender
// (MALFORMED/FRAME_TOO_SHORT) rather than shortening the clear part, because a
// receiver could not tell a shortened clear part from a normal one. Such frames
// are not valid VP8/Opus frames anyway, and the caller drops them.
//
// AES-GCM (suites 4, 5) takes a fast path with the same bytes: one WebCrypto
// call per frame and one copy of its result. The AAD is built in a scratch
// buffer that WebCrypto copies when the call starts (aead.ts). The output
// frame is WebCrypto's own result buffer grown at the front where the runtime
// has ArrayBuffer.prototype.transfer (ES2024: browsers, Node 22) and the
// frame is not small, else one new buffer allocated at its final size. The
// CTR+HMAC suites go through sealParts/openParts (frame.ts).

import { gcmDecrypt, gcmEncrypt } from './aead.ts';
import { concatBytes, type Bytes } from './bytes.ts';
import { clearByteCount, MAX_CLEAR_BYTES, type MediaCodec } from './clear-bytes.ts';
import type { KeyContext } from './derive.ts';
import { fail, ok, type Result } from './errors.ts';
import { openParts, scratchNonce, scratchNonceN, sealParts } from './frame.ts';
import {
  checkedHeaderLength,
  exactNumber,
  headerLengthN,
  MAX_HEADER_LENGTH,
  readHeaderInto,
  writeHeader,
  writeHeaderN,
  type HeaderSlot,
  type SFrameHeader,
} from './header.ts';

const AAD_SCRATCH = new ArrayBuffer(MAX_HEADER_LENGTH + MAX_CLEAR_BYTES);
/** One view per AAD length, so a frame allocates no AAD view (off-heap: WebCrypto reads it as is). */
const AAD_VIEWS: readonly Bytes[] = Array.from({ length: AAD_SCRATCH.byteLength + 1 }, (_, n) => new Uint8Array(AAD_SCRATCH, 0, n));

/** The AES-GCM key of ctx if an AAD of this length fits the scratch buffer, else undefined (other suites). */
function gcmKey(ctx: KeyContext, aadLength: number): CryptoKey | undefined {
  return ctx.aead.aead === 'AES-GCM' && aadLength < AAD_VIEWS.length ? ctx.aead.key : undefined;
}

function frameTooShort<T>(codec: MediaCodec, length: number): Result<T> {
  return fail('MALFORMED', `${codec} frame of ${length} bytes is shorter than its clear bytes`, 'FRAME_TOO_SHORT');
}

function tagTooShort<T>(nt: number): Result<T> {
  return fail('MALFORMED', `ciphertext shorter than the ${nt}-byte tag`, 'FRAME_TOO_SHORT');
}

function encryptFailed<T>(e: unknown): Result<T> {
  return fail('INTERNAL', `encryption failed: ${e instanceof Error ? e.message : String(e)}`);
}

/** WebCrypto reports a bad GCM tag only as an OperationError. */
function authFailed<T>(): Result<T> {
  return fail('AUTH_FAILED', 'SFrame authentication failed');
}

// ---- the output frame ----
//
// RTCEncodedFrame.data takes one exact-length, fixed-length ArrayBuffer, and
// WebCrypto writes only into buffers it makes itself, so the frame is either a
// new buffer the result is copied into, or the result itself grown at the
// front with transfer() and moved up within it. V8 does not grow in place
// yet: transfer() to a new length allocates the new block without zeroing
// it, copies, and frees the old block at once instead of at a later GC. That
// is still cheaper than a zero-filled new buffer plus a result left for the
// GC: 10-15 % per encrypt+decrypt at 4-60 KB in the Chromium worker. The
// result is WebCrypto's alone, so detaching it is safe.

type Transferable = ArrayBuffer & { transfer?: (newByteLength?: number) => ArrayBuffer };

/**
 * Results shorter than this are copied even where they could grow: transfer()
 * is a call into the runtime, which costs more than a small new buffer. In
 * the Chromium worker the two break even near 2 KB (bench/sframe-ab.ts:
 * growing is 2-5 % slower per frame at 100 B-1 KB, 10-15 % faster at 4-60 KB).
 */
export const GROW_FROM_BYTES = 2048;

const canTransfer = (): boolean => typeof (ArrayBuffer.prototype as Transferable).transfer === 'function';
let growInPlace = canTransfer();
let growFrom = GROW_FROM_BYTES;

/**
 * Builds output frames of results of at least `fromBytes` by growing
 * WebCrypto's result (true, the default where ArrayBuffer.prototype.transfer
 * exists) or always in a new buffer (false). For benches and tests; returns
 * whether growing is now on (never without transfer).
 */
export function setGrowInPlace(on: boolean, fromBytes = GROW_FROM_BYTES): boolean {
  growInPlace = on && canTransfer();
  growFrom = fromBytes;
  return growInPlace;
}

/** `result` as [`room` bytes for the caller to fill][result]: grown in place if it can be, else copied into a new buffer. */
function prependRoom(result: ArrayBuffer, room: number): Bytes {
  const n = result.byteLength;
  if (growInPlace && n >= growFrom) {
    try {
      const out = new Uint8Array((result as Transferable).transfer!(room + n));
      out.copyWithin(room, 0, n);
      return out;
    } catch {
      // Not detachable after all: copy as below (the result is intact, a failed transfer leaves it attached).
    }
  }
  const out = new Uint8Array(room + n);
  out.set(new Uint8Array(result), room);
  return out;
}

// ---- seal ----
//
// The key store calls sealMediaFrame/openFrame with a `done` it made once
// per key, so its result is built in the same continuation as the frame,
// one promise step per frame instead of two. With the counter as a Number
// (below 2^53) header and nonce take no BigInt arithmetic.

/** Builds the caller's result from the output frame and the frame's CTR. */
export type FrameDone<T> = (data: Bytes, ctr: bigint) => Result<T>;

const justBytes: FrameDone<Bytes> = (data) => ok(data);

/** Sender side: [clear][header][ciphertext][tag] under counter `ctr`. */
export function encryptMediaFrame(ctx: KeyContext, ctr: bigint, codec: MediaCodec, frame: Uint8Array): Promise<Result<Bytes>> {
  return sealMediaFrame(ctx, ctr, exactNumber(ctr), codec, frame, justBytes);
}

/**
 * encryptMediaFrame with `ctrN` = Number(ctr) when ctr is in 0..2^53-1, else
 * -1 (exactNumber), and `done` building the result from the frame.
 */
export function sealMediaFrame<T>(
  ctx: KeyContext,
  ctr: bigint,
  ctrN: number,
  codec: MediaCodec,
  frame: Uint8Array,
  done: FrameDone<T>,
): Promise<Result<T>> {
  const clear = clearByteCount(codec, frame[0], frame.length);
  if (clear === undefined) return Promise.resolve(frameTooShort(codec, frame.length));
  const kidN = ctrN >= 0 ? exactNumber(ctx.kid) : -1;
  // 0 when KID or CTR is out of range: sealParts reports that.
  const headerLength = kidN >= 0 ? headerLengthN(kidN, ctrN) : checkedHeaderLength(ctx.kid, ctr);
  const key = headerLength > 0 ? gcmKey(ctx, headerLength + clear) : undefined;
  if (!key) return sealAnySuite(ctx, ctr, frame, clear).then((r) => (r.ok ? done(r.value, ctr) : r));
  const aad = AAD_VIEWS[headerLength + clear]!;
  if (kidN >= 0) writeHeaderN(aad, 0, kidN, ctrN);
  else writeHeader(aad, 0, ctx.kid, ctr);
  for (let i = 0; i < clear; i++) aad[headerLength + i] = frame[i]!;
  const nonce = ctrN >= 0 ? scratchNonceN(ctx.salt, ctrN) : scratchNonce(ctx.salt, ctr);
  const sealed = gcmEncrypt(key, ctx.suite.nt, nonce, aad, frame.subarray(clear));
  nonce.fill(0); // WebCrypto holds its own copy; salt XOR CTR must not outlive an erased key here
  const kid = ctx.kid;
  return sealed.then(
    (body) => {
      // The header is written again, not read back from the AAD scratch (other frames used it since).
      const out = prependRoom(body, clear + headerLength);
      for (let i = 0; i < clear; i++) out[i] = frame[i]!;
      if (kidN >= 0) writeHeaderN(out, clear, kidN, ctrN);
      else writeHeader(out, clear, kid, ctr);
      return done(out, ctr);
    },
    encryptFailed<T>,
  );
}

/** Any suite, through sealParts (header and range errors come from there). */
async function sealAnySuite(ctx: KeyContext, ctr: bigint, frame: Uint8Array, clear: number): Promise<Result<Bytes>> {
  const metadata = frame.subarray(0, clear);
  const parts = await sealParts(ctx, ctr, metadata, frame.subarray(clear));
  if (!parts.ok) return parts;
  return ok(concatBytes(metadata, parts.value.header, parts.value.body));
}

// ---- open ----

/** A received frame with its boundaries found: the codec rule gives the clear bytes, then the header follows. */
export interface MediaFrameParts {
  readonly frame: Uint8Array;
  /** Number of clear bytes at the start (the SFrame metadata). */
  readonly clear: number;
  /** Decoded header; ciphertext || tag starts at clear + header.length. */
  readonly header: SFrameHeader;
}

/** Receiver side, synchronous: finds the clear bytes and decodes the header (no key needed). */
export function parseMediaFrame(codec: MediaCodec, frame: Uint8Array): Result<MediaFrameParts> {
  const slot: MediaFrameSlot = { clear: 0, kid: 0n, ctr: 0n, length: 0 };
  const failed = readMediaFrame(codec, frame, slot);
  if (failed) return failed;
  return ok({ frame, clear: slot.clear, header: { kid: slot.kid, ctr: slot.ctr, length: slot.length } });
}

/** Where readMediaFrame puts what it found: the clear byte count and the header's fields. */
export interface MediaFrameSlot extends HeaderSlot {
  clear: number;
}

/** parseMediaFrame into a slot the caller reuses: undefined when it parsed, else the failure. */
export function readMediaFrame(codec: MediaCodec, frame: Uint8Array, out: MediaFrameSlot): Result<never> | undefined {
  const clear = clearByteCount(codec, frame[0], frame.length);
  if (clear === undefined) return frameTooShort(codec, frame.length);
  out.clear = clear;
  return readHeaderInto(frame, clear, out);
}

/** Opens parsed parts with the key for their KID; returns [clear][plaintext]. AUTH_FAILED if the tag does not verify. */
export function openMediaFrame(ctx: KeyContext, parts: MediaFrameParts): Promise<Result<Bytes>> {
  const { frame, clear, header } = parts;
  return openFrame(ctx, frame, clear, header.length, header.ctr, justBytes);
}

/**
 * openMediaFrame on a frame whose clear bytes and header were found
 * (readMediaFrame): `headerLength` bytes of header at `clear`, holding `ctr`;
 * `done` builds the result from [clear][plaintext].
 */
export function openFrame<T>(
  ctx: KeyContext,
  frame: Uint8Array,
  clear: number,
  headerLength: number,
  ctr: bigint,
  done: FrameDone<T>,
): Promise<Result<T>> {
  const bodyAt = clear + headerLength;
  const key = gcmKey(ctx, bodyAt);
  if (!key) return openAnySuite(ctx, frame, clear, headerLength, ctr).then((r) => (r.ok ? done(r.value, ctr) : r));
  if (frame.length - bodyAt < ctx.suite.nt) return Promise.resolve(tagTooShort(ctx.suite.nt));
  const aad = AAD_VIEWS[bodyAt]!;
  for (let i = 0; i < headerLength; i++) aad[i] = frame[clear + i]!;
  for (let i = 0; i < clear; i++) aad[headerLength + i] = frame[i]!;
  const nonce = scratchNonce(ctx.salt, ctr);
  const opened = gcmDecrypt(key, ctx.suite.nt, nonce, aad, frame.subarray(bodyAt));
  nonce.fill(0);
  return opened.then((pt) => done(layoutOpened(clear, frame, pt), ctr), authFailed<T>);
}

/** [clear][plaintext] from WebCrypto's result; without clear bytes, WebCrypto's buffer is the frame as is. */
function layoutOpened(clear: number, frame: Uint8Array, plaintext: ArrayBuffer): Bytes {
  if (clear === 0) return new Uint8Array(plaintext);
  const out = prependRoom(plaintext, clear);
  for (let i = 0; i < clear; i++) out[i] = frame[i]!;
  return out;
}

/** Any suite, through openParts (the tag-length check comes from there). */
async function openAnySuite(ctx: KeyContext, frame: Uint8Array, clear: number, headerLength: number, ctr: bigint): Promise<Result<Bytes>> {
  const bodyAt = clear + headerLength;
  const metadata = frame.subarray(0, clear);
  const header: SFrameHeader = { kid: ctx.kid, ctr, length: headerLength };
  const pt = await openParts(ctx, header, frame.subarray(clear, bodyAt), metadata, frame.subarray(bodyAt));
  return pt.ok ? ok(concatBytes(metadata, pt.value)) : pt;
}

export interface DecryptedMediaFrame {
  readonly kid: bigint;
  readonly ctr: bigint;
  /** The original frame: clear bytes followed by the decrypted rest. */
  readonly data: Bytes;
}

/** Receiver side without replay protection (the key store adds it): parse, look up the key, open. */
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
