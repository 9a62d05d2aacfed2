// npx tsx scripts/audit/calibrate.ts [--trials N] [--codec vp8|vp9|opus] [--out FILE]
//
// Reruns the experiments behind the decode criteria (criteria.ts) on this
// machine's ffmpeg: encodes clips with libvpx/libopus, then runs the audit's
// own decode tests on (a) the plaintext and (b) many SFrame encryptions with
// different KIDs and counters, as captured and stripped. Prints, per clip,
// what the tests concluded; any "decodes-as-media" on ciphertext or
// "like-random"/"noise-like" on plaintext is a failure of the criterion.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SFrameKeyStore } from '../../shared/sframe/index.ts';
import { decodeAudio } from './audio-decode.ts';
import { ffmpegCapabilities } from './ffmpeg.ts';
import { readIvf } from './ivf.ts';
import { readOggPackets } from './ogg.ts';
import { viewFrame, TAG_BYTES } from './sframe-structure.ts';
import { decodeVideo, type VideoCodec, type VideoInputFrame } from './video-decode.ts';
import { parseVp8FrameTag } from './vp8.ts';

interface Clip {
  readonly name: string;
  readonly codec: VideoCodec | 'opus';
  readonly args: string[];
}

const realtime = ['-deadline', 'realtime', '-cpu-used', '8', '-lag-in-frames', '0', '-auto-alt-ref', '0', '-pix_fmt', 'yuv420p'];
const speech =
  "flite=text='The quick brown fox jumps over the lazy dog. This meeting is end to end encrypted and the server learns nothing.':voice=slt";

function clips(hasFlite: boolean): Clip[] {
  const list: Clip[] = [
    {
      name: 'vp8 320x240 gop30',
      codec: 'vp8',
      args: ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-t', '4', '-c:v', 'libvpx', '-g', '30', '-b:v', '300k', ...realtime],
    },
    {
      name: 'vp8 320x240 all-key',
      codec: 'vp8',
      args: ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-t', '2', '-c:v', 'libvpx', '-g', '1', '-b:v', '300k', ...realtime],
    },
    {
      name: 'vp8 640x480 gop30',
      codec: 'vp8',
      args: ['-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=30', '-t', '2', '-c:v', 'libvpx', '-g', '30', '-b:v', '1M', ...realtime],
    },
    {
      name: 'vp9 320x240 gop30',
      codec: 'vp9',
      args: ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-t', '4', '-c:v', 'libvpx-vp9', '-g', '30', '-b:v', '300k', ...realtime],
    },
    {
      name: 'opus tone voip',
      codec: 'opus',
      args: [
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=48000',
        '-t',
        '4',
        '-ac',
        '1',
        '-c:a',
        'libopus',
        '-application',
        'voip',
        '-b:a',
        '32k',
      ],
    },
    {
      name: 'opus tone lowdelay',
      codec: 'opus',
      args: [
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=48000',
        '-t',
        '4',
        '-ac',
        '1',
        '-c:a',
        'libopus',
        '-application',
        'lowdelay',
        '-b:a',
        '32k',
      ],
    },
    {
      name: 'opus noise',
      codec: 'opus',
      args: ['-f', 'lavfi', '-i', 'anoisesrc=r=48000:a=0.3', '-t', '4', '-ac', '1', '-c:a', 'libopus', '-b:a', '32k'],
    },
    {
      name: 'opus silence',
      codec: 'opus',
      args: ['-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=mono', '-t', '4', '-c:a', 'libopus', '-b:a', '32k'],
    },
  ];
  if (hasFlite)
    list.push({
      name: 'opus speech voip',
      codec: 'opus',
      args: ['-f', 'lavfi', '-i', speech, '-ar', '48000', '-ac', '1', '-c:a', 'libopus', '-application', 'voip', '-b:a', '32k'],
    });
  return list;
}

function encode(clip: Clip, dir: string): Uint8Array[] {
  const file = path.join(dir, `${clip.name.replace(/\W+/g, '_')}.${clip.codec === 'opus' ? 'ogg' : 'ivf'}`);
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-y',
    ...clip.args,
    ...(clip.codec === 'opus' ? ['-frame_duration', '20'] : []),
    file,
  ]);
  if (clip.codec === 'opus') {
    const ogg = readOggPackets(fs.readFileSync(file));
    if (!ogg.ok) throw new Error(ogg.code);
    return ogg.value.slice(2);
  }
  const ivf = readIvf(fs.readFileSync(file));
  if (!ivf.ok) throw new Error(ivf.code);
  return ivf.value.frames.map((f) => new Uint8Array(f.data));
}

/** A deterministic spread of realistic KIDs (epoch << 16 | index) and small ones, and counter starts. */
function trialParams(i: number): { kid: bigint; ctr: bigint } {
  const kid = i % 5 === 4 ? BigInt(i % 8) : (BigInt(1 + ((i * 37) % 500)) << 16n) | BigInt(i % 7);
  const ctr = BigInt([0, 300, 70_000, 20_000_000, 5_000_000_000][i % 5]! + i * 13);
  return { kid, ctr };
}

async function encrypt(codec: string, frames: readonly Uint8Array[], kid: bigint, ctr: bigint, seed: number): Promise<Uint8Array[]> {
  const store = new SFrameKeyStore();
  const key = Uint8Array.from({ length: 16 }, (_, j) => (seed * 131 + j * 29 + 7) & 0xff);
  const r = await store.setSendKey(kid, key, ctr);
  if (!r.ok) throw new Error(r.error.message);
  const out: Uint8Array[] = [];
  for (const f of frames) {
    const e = await store.encrypt(codec, f);
    if (!e.ok) throw new Error(e.error.message);
    out.push(e.value.data);
  }
  return out;
}

/** As-captured and stripped views of frames, with the bytes surrogates keep. */
function views(codec: string, frames: readonly Uint8Array[], sframe: boolean) {
  const captured = frames.map((data) => {
    const v = viewFrame(codec, data);
    return { data, keep: (v.clear ?? 0) + (sframe ? (v.headerLength ?? 0) : 0) };
  });
  const stripped = frames.map((data) => {
    const v = viewFrame(codec, data);
    const clear = v.clear ?? 0;
    const body = data.subarray(clear + (v.headerLength ?? 0), data.length - (v.tagLength ?? TAG_BYTES));
    const out = new Uint8Array(clear + body.length);
    out.set(data.subarray(0, clear));
    out.set(body, clear);
    return { data: out, keep: clear };
  });
  return { captured, stripped };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const trials = Number(argv[argv.indexOf('--trials') + 1] ?? 20) || 20;
  const only = argv.includes('--codec') ? argv[argv.indexOf('--codec') + 1] : undefined;
  const outFile = argv.includes('--out') ? argv[argv.indexOf('--out') + 1] : undefined;
  const caps = await ffmpegCapabilities('ffmpeg');
  const hasFlite = execFileSync('ffmpeg', ['-hide_banner', '-filters']).toString().includes(' flite ');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-calibrate-'));
  const lines: string[] = [`# Decode-criterion calibration (${caps.version}, ${trials} encryptions per clip)`, ''];
  const say = (l: string) => {
    lines.push(l);
    console.log(l);
  };
  say('| clip | frames | plaintext | ciphertext as captured | ciphertext stripped | wrong calls |');
  say('|---|---|---|---|---|---|');
  try {
    for (const clip of clips(hasFlite).filter((c) => !only || c.codec === only)) {
      const frames = encode(clip, dir);
      let wrong = 0;
      if (clip.codec === 'opus') {
        const file = path.join(dir, 'a.ogg');
        const keepToc = frames.map(() => 1);
        const plain = await decodeAudio('ffmpeg', 'libopus', frames, keepToc, file, 'plain');
        if (plain.result !== 'audio-like') wrong++;
        const str: number[] = [];
        for (let i = 0; i < trials; i++) {
          const { kid, ctr } = trialParams(i);
          // As the audit does: SFrame frames are judged stripped (see criteria.ts).
          const v = views('opus', await encrypt('opus', frames, kid, ctr, i), true);
          const b = await decodeAudio(
            'ffmpeg',
            'libopus',
            v.stripped.map((x) => x.data),
            v.stripped.map((x) => x.keep),
            file,
            `s${i}`,
          );
          str.push(b.ratio);
          if (b.result === 'audio-like') wrong++;
        }
        const range = (r: number[]) => `ratio ${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}`;
        say(
          `| ${clip.name} | ${frames.length} | ${plain.result}, ratio ${plain.ratio.toFixed(2)} | (not tested: header dominates) | ${range(str)} | ${wrong} |`,
        );
        continue;
      }
      const codec = clip.codec;
      const first = parseVp8FrameTag(frames[0]!);
      const size = { width: first?.width || 320, height: first?.height || 240 };
      const file = path.join(dir, 'v.ivf');
      const inputs = (list: Array<{ data: Uint8Array; keep: number }>): VideoInputFrame[] =>
        list.map((x, index) => ({ index, data: x.data, keep: x.keep, keyframe: codec === 'vp8' ? (x.data[0]! & 1) === 0 : false }));
      const plain = await decodeVideo('ffmpeg', codec, inputs(views(codec, frames, false).captured), size, file, 'plain');
      if (plain.result !== 'decodes-as-media') wrong++;
      let maxCap = 0;
      let maxStr = 0;
      let minP = 1;
      let accepted = 0;
      for (let i = 0; i < trials; i++) {
        const { kid, ctr } = trialParams(i);
        const v = views(codec, await encrypt(codec, frames, kid, ctr, i), true);
        const a = await decodeVideo('ffmpeg', codec, inputs(v.captured), size, file, `c${i}`);
        const b = await decodeVideo('ffmpeg', codec, inputs(v.stripped), size, file, `s${i}`);
        maxCap = Math.max(maxCap, a.identical);
        maxStr = Math.max(maxStr, b.identical);
        minP = Math.min(minP, a.pValue, b.pValue);
        accepted += a.primary.decoded;
        if (a.result === 'decodes-as-media') wrong++;
        if (b.result === 'decodes-as-media') wrong++;
      }
      say(
        `| ${clip.name} | ${frames.length} | ${plain.result}: ${plain.identical}/${plain.frames} reproduced, random ${plain.controlIdentical.join('/')}, p ${plain.pValue.toExponential(0)} ` +
          `| ffmpeg alone accepted ${((100 * accepted) / (trials * frames.length)).toFixed(0)}%; reproduced ≤ ${maxCap} | reproduced ≤ ${maxStr}; min p ${minP.toExponential(0)} | ${wrong} |`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (outFile) fs.writeFileSync(outFile, lines.join('\n') + '\n');
}

await main();
