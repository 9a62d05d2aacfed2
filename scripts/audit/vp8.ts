// The VP8 frame tag and keyframe start (RFC 6386 §9.1): the bytes an
// encrypted VP8 frame keeps in clear. Used to read the picture size for the
// IVF header and to confirm the clear bytes are what the codec rule expects.

export interface Vp8FrameTag {
  readonly keyframe: boolean;
  readonly version: number;
  readonly showFrame: boolean;
  readonly firstPartitionSize: number;
  /** Keyframes only: start code 9d 01 2a present. */
  readonly startCodeOk?: boolean;
  readonly width?: number;
  readonly height?: number;
}

export function parseVp8FrameTag(frame: Uint8Array): Vp8FrameTag | undefined {
  if (frame.length < 3) return undefined;
  const raw = frame[0]! | (frame[1]! << 8) | (frame[2]! << 16);
  const keyframe = (raw & 1) === 0;
  const tag = { keyframe, version: (raw >> 1) & 7, showFrame: ((raw >> 4) & 1) === 1, firstPartitionSize: raw >>> 5 };
  if (!keyframe) return tag;
  if (frame.length < 10) return { ...tag, startCodeOk: false };
  const startCodeOk = frame[3] === 0x9d && frame[4] === 0x01 && frame[5] === 0x2a;
  return { ...tag, startCodeOk, width: (frame[6]! | (frame[7]! << 8)) & 0x3fff, height: (frame[8]! | (frame[9]! << 8)) & 0x3fff };
}
