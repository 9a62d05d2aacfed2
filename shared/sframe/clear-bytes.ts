// How many bytes at the start of a media frame stay in clear (docs/frame-format.md §3):
//
//   VP8 keyframe 10 (3-byte frame tag + 7-byte start code and dimensions),
//   VP8 delta 3 (frame tag), Opus 1 (TOC byte), VP9 and anything else 0.
//
// The receiver derives the count exactly as the sender did, from the codec and
// the first byte only (never from a length field an attacker could edit). The
// VP8 keyframe bit is the P bit, the lowest bit of byte 0 (0 = keyframe),
// which is itself a clear byte and therefore authenticated: flipping it moves
// where the receiver looks for the header, and the frame fails to open.

export type MediaCodec = 'vp8' | 'vp9' | 'opus' | (string & {});

export const VP8_KEYFRAME_CLEAR_BYTES = 10;
export const VP8_DELTA_CLEAR_BYTES = 3;
export const OPUS_CLEAR_BYTES = 1;
/** Largest count clearByteCount gives (VP8 keyframe). */
export const MAX_CLEAR_BYTES = VP8_KEYFRAME_CLEAR_BYTES;

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
