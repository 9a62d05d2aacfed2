// Running ffmpeg: the only real decoders the audit uses. Kept apart from the
// criteria so those stay pure functions of ffmpeg's output.

import { spawn } from 'node:child_process';
import os from 'node:os';

export interface FfmpegRun {
  /** Exit code, or -1 if ffmpeg could not be started. */
  readonly code: number;
  readonly stdout: Buffer;
  /** First part of stderr (decoders can print one line per bad frame). */
  readonly stderr: string;
  /** Error lines, not counting ffmpeg's "Last message repeated" notes. */
  readonly errorLines: number;
}

const STDERR_KEEP = 64 * 1024;

// Callers start decodes freely; at most this many ffmpeg processes run at once.
const MAX_RUNNING = Math.max(2, Math.min(8, os.availableParallelism() * 2));
let running = 0;
const waiting: Array<() => void> = [];

async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_RUNNING) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export function runFfmpeg(ffmpeg: string, args: readonly string[]): Promise<FfmpegRun> {
  return slot(() => spawnFfmpeg(ffmpeg, args));
}

function spawnFfmpeg(ffmpeg: string, args: readonly string[]): Promise<FfmpegRun> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(ffmpeg, ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      resolve({ code: -1, stdout: Buffer.alloc(0), stderr: 'cannot start ffmpeg', errorLines: 0 });
      return;
    }
    const out: Buffer[] = [];
    let err = '';
    let errorLines = 0;
    let partial = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      const text = partial + d.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.trim() && !/Last message repeated/.test(l)) errorLines++;
      if (err.length < STDERR_KEEP) err += d.toString('utf8').slice(0, STDERR_KEEP - err.length);
    });
    child.on('error', () => resolve({ code: -1, stdout: Buffer.alloc(0), stderr: 'cannot start ffmpeg', errorLines: 0 }));
    child.on('close', (code) => {
      if (partial.trim() && !/Last message repeated/.test(partial)) errorLines++;
      resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err, errorLines });
    });
  });
}

export interface FfmpegCapabilities {
  readonly available: boolean;
  readonly version: string;
  readonly decoders: ReadonlySet<string>;
}

const known = new Map<string, Promise<FfmpegCapabilities>>();

/** Which decoders this ffmpeg has: the audit needs vp8+libvpx, vp9+libvpx-vp9, libopus. Asked once per executable. */
export function ffmpegCapabilities(ffmpeg: string): Promise<FfmpegCapabilities> {
  let caps = known.get(ffmpeg);
  if (!caps) {
    caps = probeCapabilities(ffmpeg);
    known.set(ffmpeg, caps);
  }
  return caps;
}

async function probeCapabilities(ffmpeg: string): Promise<FfmpegCapabilities> {
  const v = await runFfmpeg(ffmpeg, ['-version']);
  if (v.code !== 0) return { available: false, version: '', decoders: new Set() };
  const d = await runFfmpeg(ffmpeg, ['-decoders']);
  return {
    available: true,
    version: (v.stdout.toString('utf8').split('\n')[0] ?? '').replace(/\s+Copyright.*$/, ''),
    decoders: parseDecoderList(d.stdout.toString('utf8')),
  };
}

/** Names from `ffmpeg -decoders` (lines like " V....D libvpx  libvpx VP8 (codec vp8)"). */
export function parseDecoderList(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\s*[VAS][F.][S.][X.][B.][D.]\s+(\S+)/.exec(line);
    if (m && m[1] !== '=') names.add(m[1]!);
  }
  return names;
}

/** framemd5 lines "stream, dts, pts, duration, size, hash": pts → hash. */
export function parseFrameMd5(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(',').map((s) => s.trim());
    const pts = Number(f[2]);
    const hash = f[5];
    if (Number.isInteger(pts) && hash) out.set(pts, hash);
  }
  return out;
}
