// The audio test (see criteria.ts): decode the captured Opus packets and a few
// surrogate streams (same lengths, same clear and header bytes, random rest)
// with libopus, and compare how jumpy the decoded energy is.

import fs from 'node:fs';
import path from 'node:path';
import { classifyAudio, AUDIO_SURROGATES, type AudioLikeness } from './criteria.ts';
import { jumpinessDb, median, windowEnergiesDb } from './audio-features.ts';
import { runFfmpeg } from './ffmpeg.ts';
import { writeOggOpus, type OggPacket } from './ogg.ts';
import { opusPacketSamples, parseOpusToc } from './opus-toc.ts';
import { SeededBytes, surrogate } from './rng.ts';

export interface AudioDecodeView {
  readonly packets: number;
  readonly decoder: string;
  readonly decodedSeconds: number;
  readonly errorLines: number;
  readonly exitCode: number;
  readonly windows: number;
  readonly jumpinessDb: number;
  readonly surrogateJumpinessDb: number;
  readonly ratio: number;
  readonly result: AudioLikeness;
}

/** Pure: an Ogg Opus file of these packets (granule = 48 kHz samples so far). */
export function oggOfPackets(packets: readonly Uint8Array[]): Buffer {
  let granule = 0n;
  const list: OggPacket[] = packets.map((data) => ({ data, granule: (granule += BigInt(opusPacketSamples(data))) }));
  const stereo = packets.some((p) => p[0] !== undefined && parseOpusToc(p[0]).stereo);
  return writeOggOpus({ channels: stereo ? 2 : 1, preSkip: 0, inputRate: 48000 }, list);
}

async function decodePcm(ffmpeg: string, decoder: string, packets: readonly Uint8Array[], file: string) {
  fs.writeFileSync(file, oggOfPackets(packets));
  const r = await runFfmpeg(ffmpeg, [
    '-v',
    'error',
    '-c:a',
    decoder,
    '-i',
    file,
    '-map',
    '0:a:0',
    '-ac',
    '1',
    '-ar',
    '48000',
    '-f',
    'f32le',
    '-',
  ]);
  const b = r.stdout;
  const pcm = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + (b.length - (b.length % 4))));
  return { pcm, run: r };
}

/**
 * `keep[i]`: bytes of packet i that are not secret (TOC, SFrame header) and
 * so stay in the surrogates; everything after them is replaced.
 */
export async function decodeAudio(
  ffmpeg: string,
  decoder: string,
  packets: readonly Uint8Array[],
  keep: readonly number[],
  file: string,
  seed: string,
): Promise<AudioDecodeView> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const rng = new SeededBytes(seed);
  const surrogates = Array.from({ length: AUDIO_SURROGATES }, (_, i) => ({
    file: `${file.replace(/\.ogg$/, '')}.surrogate${i}.ogg`,
    packets: surrogate(packets, keep, rng),
  }));
  const [main, ...control] = await Promise.all([
    decodePcm(ffmpeg, decoder, packets, file),
    ...surrogates.map((s) => decodePcm(ffmpeg, decoder, s.packets, s.file)),
  ]);
  for (const s of surrogates) fs.rmSync(s.file, { force: true });
  const energies = windowEnergiesDb(main!.pcm);
  const jumpiness = jumpinessDb(energies);
  const controls = control.map((c) => jumpinessDb(windowEnergiesDb(c.pcm)));
  const surrogateJumpiness = median(controls);
  const { ratio, result } = classifyAudio(jumpiness, surrogateJumpiness, energies.length);
  return {
    packets: packets.length,
    decoder,
    decodedSeconds: main!.pcm.length / 48000,
    errorLines: main!.run.errorLines,
    exitCode: main!.run.code,
    windows: energies.length,
    jumpinessDb: jumpiness,
    surrogateJumpinessDb: surrogateJumpiness,
    ratio,
    result,
  };
}
