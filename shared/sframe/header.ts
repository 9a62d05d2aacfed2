// The SFrame header (RFC 9605 §4.3): a config byte X|K(3)|Y|C(3), then the KID
// and CTR as big-endian unsigned integers in the fewest bytes. Values 0-7 ride
// inline in K or C with X or Y clear; otherwise the 3-bit field holds length-1.
//
// Decoding is strict: the RFC says values MUST be minimally encoded, so a
// header with a leading zero byte, or an extended field holding a value below
// 8, is rejected as MALFORMED. That keeps exactly one header per (KID, CTR).

import { MAX_U64, type Bytes } from './bytes.ts';
import { fail, ok, type Result } from './errors.ts';

export interface SFrameHeader {
  readonly kid: bigint;
  readonly ctr: bigint;
  /** Encoded size in bytes (1..17). */
  readonly length: number;
}

export const MAX_HEADER_LENGTH = 17;

/** Bytes after the config byte needed for one field: 0 if inline, else its minimal length. */
function fieldLength(v: bigint): number {
  if (v < 8n) return 0;
  if (v <= 0xffffffffn) {
    const n = Number(v);
    return n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
  }
  let len = 4;
  for (let x = v >> 32n; x > 0n; x >>= 8n) len++;
  return len;
}

export function headerLength(kid: bigint, ctr: bigint): number {
  return 1 + fieldLength(kid) + fieldLength(ctr);
}

function writeField(out: Uint8Array, end: number, len: number, v: bigint): void {
  if (len <= 4) {
    let n = Number(v);
    for (let i = end - 1; i >= end - len; i--) {
      out[i] = n & 0xff;
      n = Math.floor(n / 256);
    }
    return;
  }
  let x = v;
  for (let i = end - 1; i >= end - len; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

/** Header length for (kid, ctr), or 0 if either is outside 0..2^64-1. */
export function checkedHeaderLength(kid: bigint, ctr: bigint): number {
  if (kid < 0n || kid > MAX_U64 || ctr < 0n || ctr > MAX_U64) return 0;
  return 1 + fieldLength(kid) + fieldLength(ctr);
}

/**
 * Writes the header of (kid, ctr) into out[at..] and returns its length, so a
 * frame can be laid out without a separate header buffer. The caller checked
 * the ranges (checkedHeaderLength) and that out has room.
 */
export function writeHeader(out: Uint8Array, at: number, kid: bigint, ctr: bigint): number {
  const kLen = fieldLength(kid);
  const cLen = fieldLength(ctr);
  const k = kLen === 0 ? Number(kid) : 0x8 | (kLen - 1);
  const c = cLen === 0 ? Number(ctr) : 0x8 | (cLen - 1);
  out[at] = (k << 4) | c;
  if (kLen > 0) writeField(out, at + 1 + kLen, kLen, kid);
  if (cLen > 0) writeField(out, at + 1 + kLen + cLen, cLen, ctr);
  return 1 + kLen + cLen;
}

// ---- the same with Numbers, for the per-frame path ----
//
// KIDs and CTRs below 2^53 are exact as Numbers, so a frame whose KID and CTR
// both are (every frame but those of a counter that ran for centuries) gets
// its header without BigInt arithmetic. Same bytes as writeHeader
// (test/sframe/number-path.test.ts checks both around 2^32, 2^48 and 2^53).

/** Largest value the Number functions take: 2^53 - 1. */
export const MAX_EXACT = Number.MAX_SAFE_INTEGER;
/** MAX_EXACT as a bigint, for the range check at the edges. */
export const MAX_EXACT_BIG = BigInt(MAX_EXACT);

/** `v` as a Number if 0 <= v <= 2^53 - 1 (exact), else -1. */
export function exactNumber(v: bigint): number {
  return v >= 0n && v <= MAX_EXACT_BIG ? Number(v) : -1;
}

/** fieldLength for an integer 0..2^53-1. */
function fieldLengthN(n: number): number {
  if (n < 8) return 0;
  if (n < 0x100000000) return n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
  return n < 0x10000000000 ? 5 : n < 0x1000000000000 ? 6 : 7;
}

/** headerLength for a KID and CTR in 0..2^53-1. */
export function headerLengthN(kid: number, ctr: number): number {
  return 1 + fieldLengthN(kid) + fieldLengthN(ctr);
}

function writeFieldN(out: Uint8Array, end: number, len: number, v: number): void {
  let n = v;
  for (let i = end - 1; i >= end - len; i--) {
    out[i] = n % 256;
    n = Math.floor(n / 256);
  }
}

/** writeHeader for a KID and CTR in 0..2^53-1 (the caller checked): same bytes. */
export function writeHeaderN(out: Uint8Array, at: number, kid: number, ctr: number): number {
  const kLen = fieldLengthN(kid);
  const cLen = fieldLengthN(ctr);
  const k = kLen === 0 ? kid : 0x8 | (kLen - 1);
  const c = cLen === 0 ? ctr : 0x8 | (cLen - 1);
  out[at] = (k << 4) | c;
  if (kLen > 0) writeFieldN(out, at + 1 + kLen, kLen, kid);
  if (cLen > 0) writeFieldN(out, at + 1 + kLen + cLen, cLen, ctr);
  return 1 + kLen + cLen;
}

/** Encodes a header; KID and CTR must be in 0..2^64-1. */
export function encodeHeader(kid: bigint, ctr: bigint): Result<Bytes> {
  const length = checkedHeaderLength(kid, ctr);
  if (length === 0) {
    return fail('INVALID_ARGUMENT', `KID and CTR must be in 0..2^64-1 (kid=${kid}, ctr=${ctr})`);
  }
  const out = new Uint8Array(length);
  writeHeader(out, 0, kid, ctr);
  return ok(out);
}

function readField(buf: Uint8Array, at: number, len: number): bigint {
  // Up to 6 bytes fit a double exactly: one BigInt conversion instead of one per byte.
  if (len <= 6) {
    let n = 0;
    for (let i = at; i < at + len; i++) n = n * 256 + (buf[i] ?? 0);
    return BigInt(n);
  }
  let v = 0n;
  for (let i = at; i < at + len; i++) v = (v << 8n) | BigInt(buf[i] ?? 0);
  return v;
}

/** Decodes the header starting at `offset`; the bytes after it are not examined. */
export function decodeHeader(buf: Uint8Array, offset = 0): Result<SFrameHeader> {
  const header: HeaderSlot = { kid: 0n, ctr: 0n, length: 0 };
  return readHeaderInto(buf, offset, header) ?? ok(header);
}

/** A header's fields, filled in place by readHeaderInto (a caller reuses one, so a frame allocates no header object). */
export interface HeaderSlot {
  kid: bigint;
  ctr: bigint;
  length: number;
}

/** decodeHeader into `out`: undefined when it decoded, else the failure (and `out` is unchanged). */
export function readHeaderInto(buf: Uint8Array, offset: number, out: HeaderSlot): Result<never> | undefined {
  const config = buf[offset];
  if (config === undefined) return fail('MALFORMED', 'SFrame header is empty', 'HEADER_TRUNCATED');
  const kBits = (config >> 4) & 0x7;
  const cBits = config & 0x7;
  const kLen = config & 0x80 ? kBits + 1 : 0;
  const cLen = config & 0x08 ? cBits + 1 : 0;
  const length = 1 + kLen + cLen;
  if (buf.length - offset < length) {
    return fail('MALFORMED', `SFrame header needs ${length} bytes, ${buf.length - offset} available`, 'HEADER_TRUNCATED');
  }
  const kidAt = offset + 1;
  const ctrAt = kidAt + kLen;
  if (!isMinimal(buf, kidAt, kLen) || !isMinimal(buf, ctrAt, cLen)) {
    return fail('MALFORMED', 'SFrame header KID or CTR is not minimally encoded', 'HEADER_NON_MINIMAL');
  }
  out.kid = kLen === 0 ? BigInt(kBits) : readField(buf, kidAt, kLen);
  out.ctr = cLen === 0 ? BigInt(cBits) : readField(buf, ctrAt, cLen);
  out.length = length;
  return undefined;
}

/** An extended field must not start with a zero byte, nor hold a value 0-7 in one byte. */
function isMinimal(buf: Uint8Array, at: number, len: number): boolean {
  if (len === 0) return true;
  const first = buf[at] ?? 0;
  return len === 1 ? first >= 8 : first !== 0;
}
