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

import { concatBytes, type Bytes } from './bytes.ts';
import type { KeyContext } from './derive.ts';
import { fail, ok, type Result } from './errors.ts';
import { openParts, sealParts } from './frame.ts';
import { decodeHeader, type SFrameHeader } from './header.ts';

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

/**
 * Clear bytes for a frame of this codec whose first byte is `firstByte` and
 * whose length is `length`, or undefined if the frame is too short to hold
 * them. The sender passes the plaintext frame, the receiver the wire frame;
 * both see the same first byte, so both get the same count.
 */
export function clearByteCount(codec: MediaCodec, firstByte: number | undefined, length: number): number | undefined {
  let n: number;
  switch (normalizeCodec(codec)) {
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

/** Sender side: [clear][header][ciphertext][tag] under counter `ctr`. */
export async function encryptMediaFrame(ctx: KeyContext, ctr: bigint, codec: MediaCodec, frame: Uint8Array): Promise<Result<Bytes>> {
  const clear = clearByteCount(codec, frame[0], frame.length);
  if (clear === undefined) return fail('MALFORMED', `${codec} frame of ${frame.length} bytes is shorter than its clear bytes`, 'FRAME_TOO_SHORT');
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
  if (clear === undefined) return fail('MALFORMED', `${codec} frame of ${frame.length} bytes is shorter than its clear bytes`, 'FRAME_TOO_SHORT');
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
export async function openMediaFrame(ctx: KeyContext, parts: MediaFrameParts): Promise<Result<Bytes>> {
  const pt = await openParts(ctx, parts.header, parts.headerBytes, parts.metadata, parts.body);
  return pt.ok ? ok(concatBytes(parts.metadata, pt.value)) : pt;
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
