// IVF, the minimal container libvpx and ffmpeg read VP8/VP9 from: a 32-byte
// file header, then per frame a 12-byte header (size, 64-bit pts) and the frame.
// The audit writes reassembled RTP frames here so a real decoder can try them;
// the reader exists for building test fixtures from ffmpeg's own output.

export type IvfFourcc = 'VP80' | 'VP90';

export interface IvfFrame {
  readonly pts: number;
  readonly data: Uint8Array;
}

export interface IvfFile {
  readonly fourcc: string;
  readonly width: number;
  readonly height: number;
  readonly timebase: { readonly num: number; readonly den: number };
  readonly frames: IvfFrame[];
}

const FILE_HEADER = 32;
const FRAME_HEADER = 12;

/** Timebase is 1/`rate`: for RTP frames pass the clock rate and RTP-derived pts. */
export function writeIvf(fourcc: IvfFourcc, width: number, height: number, rate: number, frames: readonly IvfFrame[]): Buffer {
  const total = FILE_HEADER + frames.reduce((n, f) => n + FRAME_HEADER + f.data.length, 0);
  const out = Buffer.alloc(total);
  out.write('DKIF', 0, 'latin1');
  out.writeUInt16LE(0, 4);
  out.writeUInt16LE(FILE_HEADER, 6);
  out.write(fourcc, 8, 'latin1');
  out.writeUInt16LE(width & 0xffff, 12);
  out.writeUInt16LE(height & 0xffff, 14);
  out.writeUInt32LE(rate, 16);
  out.writeUInt32LE(1, 20);
  out.writeUInt32LE(frames.length, 24);
  let at = FILE_HEADER;
  for (const f of frames) {
    out.writeUInt32LE(f.data.length, at);
    out.writeBigUInt64LE(BigInt(Math.max(0, Math.round(f.pts))), at + 4);
    out.set(f.data, at + FRAME_HEADER);
    at += FRAME_HEADER + f.data.length;
  }
  return out;
}

export type IvfReadError = 'NOT_IVF' | 'TRUNCATED';

export function readIvf(buf: Buffer): { ok: true; value: IvfFile } | { ok: false; code: IvfReadError } {
  if (buf.length < FILE_HEADER || buf.toString('latin1', 0, 4) !== 'DKIF') return { ok: false, code: 'NOT_IVF' };
  const headerSize = buf.readUInt16LE(6);
  const frames: IvfFrame[] = [];
  let at = headerSize;
  while (at + FRAME_HEADER <= buf.length) {
    const size = buf.readUInt32LE(at);
    if (at + FRAME_HEADER + size > buf.length) return { ok: false, code: 'TRUNCATED' };
    frames.push({ pts: Number(buf.readBigUInt64LE(at + 4)), data: buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + size) });
    at += FRAME_HEADER + size;
  }
  return {
    ok: true,
    value: {
      fourcc: buf.toString('latin1', 8, 12),
      width: buf.readUInt16LE(12),
      height: buf.readUInt16LE(14),
      timebase: { den: buf.readUInt32LE(16), num: buf.readUInt32LE(20) },
      frames,
    },
  };
}
