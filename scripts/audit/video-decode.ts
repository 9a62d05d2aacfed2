// The video decode test (see criteria.ts). Frames go into an IVF file with
// pts = their position; ffmpeg decodes it with its own decoder and with libvpx
// into per-frame MD5s; frames whose pictures match count as reproduced. The
// same is done for surrogate streams (same lengths, same clear and SFrame
// header bytes, random rest), and the capture must not be reproduced
// significantly more often than those.

import fs from 'node:fs';
import path from 'node:path';
import { classifyVideo, VIDEO_SURROGATES, type VideoResult } from './criteria.ts';
import { parseFrameMd5, runFfmpeg } from './ffmpeg.ts';
import { writeIvf } from './ivf.ts';
import { SeededBytes, surrogate } from './rng.ts';

export type VideoCodec = 'vp8' | 'vp9';

export const VIDEO_DECODERS: Readonly<Record<VideoCodec, readonly [string, string]>> = {
  vp8: ['vp8', 'libvpx'],
  vp9: ['vp9', 'libvpx-vp9'],
};

/** Decode tests use at most this many frames (the first, in sequence order): decoding is the slow part. */
export const MAX_DECODE_FRAMES = 3000;

export interface DecoderRun {
  readonly decoder: string;
  readonly decoded: number;
  readonly errorLines: number;
  readonly exitCode: number;
}

export interface VideoDecodeView {
  readonly frames: number;
  readonly keyframes: number;
  readonly primary: DecoderRun;
  readonly secondary: DecoderRun;
  /** Frames both decoders output with bit-identical pictures. */
  readonly identical: number;
  readonly identicalKeyframes: number;
  /** Producer frame indices of identical frames (first few). */
  readonly identicalFrames: number[];
  /** Identical frames in each surrogate stream. */
  readonly controlIdentical: number[];
  readonly pValue: number;
  readonly result: VideoResult;
}

export interface VideoInputFrame {
  readonly index: number;
  readonly data: Uint8Array;
  readonly keyframe: boolean;
  /** Bytes that are not secret (clear bytes, SFrame header): kept in the surrogates. */
  readonly keep: number;
}

const LIST_LIMIT = 20;

/** Pure: which inputs both decoders reproduced identically. */
export function compareDecodes(
  inputs: readonly Pick<VideoInputFrame, 'index' | 'keyframe'>[],
  a: ReadonlyMap<number, string>,
  b: ReadonlyMap<number, string>,
): { identical: number; identicalKeyframes: number; identicalFrames: number[] } {
  let identical = 0;
  let identicalKeyframes = 0;
  const identicalFrames: number[] = [];
  inputs.forEach((f, pts) => {
    const h = a.get(pts);
    if (h === undefined || h !== b.get(pts)) return;
    identical++;
    if (f.keyframe) identicalKeyframes++;
    if (identicalFrames.length < LIST_LIMIT) identicalFrames.push(f.index);
  });
  return { identical, identicalKeyframes, identicalFrames };
}

async function decodeBoth(
  ffmpeg: string,
  codec: VideoCodec,
  frames: readonly Uint8Array[],
  size: { width: number; height: number },
  file: string,
) {
  // Timebase 1/30 and pts = position: framemd5 then names frames by position.
  fs.writeFileSync(
    file,
    writeIvf(
      codec === 'vp8' ? 'VP80' : 'VP90',
      size.width,
      size.height,
      30,
      frames.map((data, i) => ({ pts: i, data })),
    ),
  );
  const run = async (decoder: string) => {
    const r = await runFfmpeg(ffmpeg, [
      '-v',
      'error',
      '-c:v',
      decoder,
      '-i',
      file,
      '-map',
      '0:v:0',
      '-vsync',
      'passthrough',
      '-f',
      'framemd5',
      '-',
    ]);
    const md5 = parseFrameMd5(r.stdout.toString('utf8'));
    return { run: { decoder, decoded: md5.size, errorLines: r.errorLines, exitCode: r.code }, md5 };
  };
  const [first, second] = VIDEO_DECODERS[codec];
  const [a, b] = await Promise.all([run(first), run(second)]);
  return { a, b };
}

export async function decodeVideo(
  ffmpeg: string,
  codec: VideoCodec,
  all: readonly VideoInputFrame[],
  size: { width: number; height: number },
  file: string,
  seed: string,
): Promise<VideoDecodeView> {
  const inputs = all.slice(0, MAX_DECODE_FRAMES);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const rng = new SeededBytes(seed);
  const controls = Array.from({ length: VIDEO_SURROGATES }, (_, i) => ({
    file: `${file.replace(/\.ivf$/, '')}.surrogate${i}.ivf`,
    frames: surrogate(
      inputs.map((f) => f.data),
      inputs.map((f) => f.keep),
      rng,
    ),
  }));
  const [main, ...control] = await Promise.all([
    decodeBoth(
      ffmpeg,
      codec,
      inputs.map((f) => f.data),
      size,
      file,
    ),
    ...controls.map((c) => decodeBoth(ffmpeg, codec, c.frames, size, c.file)),
  ]);
  for (const c of controls) fs.rmSync(c.file, { force: true });
  const { a, b } = main!;
  const captured = compareDecodes(inputs, a.md5, b.md5);
  const controlIdentical = control.map((c) => compareDecodes(inputs, c.a.md5, c.b.md5).identical);
  const { pValue, result } = classifyVideo(captured.identical, inputs.length, controlIdentical);
  return {
    frames: inputs.length,
    keyframes: inputs.filter((f) => f.keyframe).length,
    primary: a.run,
    secondary: b.run,
    ...captured,
    controlIdentical,
    pValue,
    result,
  };
}
