import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { oggOfPackets } from '../../scripts/audit/audio-decode.ts';
import { readIvf, writeIvf } from '../../scripts/audit/ivf.ts';
import { oggCrc, readOggPackets } from '../../scripts/audit/ogg.ts';
import { opusPacketSamples, parseOpusToc } from '../../scripts/audit/opus-toc.ts';
import { parseVp8FrameTag } from '../../scripts/audit/vp8.ts';
import { removeTempDirs, tempDir } from './fixtures.ts';

afterAll(removeTempDirs);

describe('IVF', () => {
  it('reads back what it writes', () => {
    const frames = [
      { pts: 0, data: Uint8Array.of(1, 2, 3) },
      { pts: 7, data: Uint8Array.of(4) },
    ];
    const r = readIvf(writeIvf('VP80', 320, 240, 30, frames));
    expect(r.ok && r.value).toMatchObject({ fourcc: 'VP80', width: 320, height: 240, timebase: { num: 1, den: 30 } });
    expect(r.ok && r.value.frames.map((f) => [f.pts, [...f.data]])).toEqual([
      [0, [1, 2, 3]],
      [7, [4]],
    ]);
  });

  it('refuses other files', () => {
    expect(readIvf(Buffer.from('RIFF0000000000000000000000000000'))).toEqual({ ok: false, code: 'NOT_IVF' });
  });
});

describe('Ogg Opus', () => {
  it('computes the Ogg CRC (polynomial 0x04c11db7, unreflected, init 0)', () => {
    expect(oggCrc(new Uint8Array(0))).toBe(0);
    // Independent check: every page ffmpeg's libopus muxer wrote must verify.
    const dir = tempDir('ogg');
    const file = path.join(dir, 't.ogg');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=300:sample_rate=48000',
      '-t',
      '0.5',
      '-c:a',
      'libopus',
      file,
    ]);
    const r = readOggPackets(fs.readFileSync(file));
    expect(r.ok && Buffer.from(r.value[0]!).subarray(0, 8).toString()).toBe('OpusHead');
  });

  it('writes streams ffmpeg reads, with lacing for packets of 255 bytes and more', () => {
    const dir = tempDir('ogg');
    const file = path.join(dir, 'w.ogg');
    // CELT-only TOC (config 31, 20 ms), arbitrary bodies: any bytes are a valid Opus packet.
    const packets = [1, 254, 255, 256, 600].map((n, i) => Uint8Array.from({ length: n }, (_, j) => (j === 0 ? 0xf8 : (i * 31 + j) & 0xff)));
    fs.writeFileSync(file, oggOfPackets(packets));
    const back = readOggPackets(fs.readFileSync(file));
    expect(back.ok && back.value.slice(2).map((p) => p.length)).toEqual([1, 254, 255, 256, 600]);
    const probe = execFileSync('ffprobe', [
      '-v',
      'error',
      '-count_packets',
      '-show_entries',
      'stream=codec_name,nb_read_packets',
      '-of',
      'csv=p=0',
      file,
    ])
      .toString()
      .trim();
    expect(probe).toBe('opus,5');
  });

  it('derives packet durations from the TOC byte', () => {
    expect(parseOpusToc(0x78)).toMatchObject({ mode: 'Hybrid', frameSamples: 960, code: 0 });
    expect(opusPacketSamples(Uint8Array.of(0xf8))).toBe(960); // CELT 20 ms
    expect(opusPacketSamples(Uint8Array.of(0x09))).toBe(1920); // SILK 20 ms, two frames
    expect(opusPacketSamples(Uint8Array.of(0xfb, 0x3f))).toBe(5760); // code 3 count clamped to 120 ms
  });
});

describe('VP8 frame tag', () => {
  it('reads the keyframe bit, first partition size and the picture size from the clear bytes', () => {
    const key = Uint8Array.of(0x50, 0x2a, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00);
    expect(parseVp8FrameTag(key)).toMatchObject({
      keyframe: true,
      startCodeOk: true,
      width: 320,
      height: 240,
      firstPartitionSize: (0x50 | (0x2a << 8)) >>> 5,
    });
    expect(parseVp8FrameTag(Uint8Array.of(0x31, 0, 0))).toMatchObject({ keyframe: false, showFrame: true });
  });
});
