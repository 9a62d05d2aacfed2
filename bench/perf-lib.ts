// Shared helpers for the call-performance benches (bench/call.ts, join.ts,
// rotation.ts, server-load.ts; their options: harness/cli.ts): order statistics, the
// machine description, CPU time of process trees from /proc, and a frozen
// copy of a client build so a concurrent rebuild cannot break a run.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../harness/server.ts';

// ---------------------------------------------------------------- running

/** Runs a bench's main and exits (browsers and servers may hold the loop open): 0 when it resolves, 1 with the error when it throws. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}

// ---------------------------------------------------------------- statistics

/** Nearest-rank percentile (p in 0..100) of the finite values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * v.length);
  return v[Math.min(v.length - 1, Math.max(0, rank - 1))]!;
}

/** Median; the mean of the two middle values for an even count. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** Least-squares slope of y over x (NaN with fewer than two distinct x). */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? NaN : sxy / sxx;
}

export const fmt = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
export const pct = (ratio: number, digits = 1): string =>
  Number.isFinite(ratio) ? `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(digits)}%` : 'n/a';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- machine

export function loadavg(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${os.cpus().length} cores (nproc ${nproc()}), ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`;
}

function nproc(): string {
  try {
    return execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

/** Samples the 1-minute load average every few seconds while a bench runs. */
export class LoadSampler {
  private readonly samples: number[] = [];
  private readonly timer: NodeJS.Timeout;
  constructor(everyMs = 5000) {
    this.samples.push(os.loadavg()[0]!);
    this.timer = setInterval(() => this.samples.push(os.loadavg()[0]!), everyMs);
    this.timer.unref();
  }
  stop(): string {
    clearInterval(this.timer);
    this.samples.push(os.loadavg()[0]!);
    return `1-min loadavg during the run: min ${fmt(Math.min(...this.samples), 2)}, median ${fmt(median(this.samples), 2)}, max ${fmt(Math.max(...this.samples), 2)} (${this.samples.length} samples)`;
  }
}

// ---------------------------------------------------------------- /proc CPU time

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, in seconds. */
  cpu: number;
}

function readStat(pid: number): ProcInfo | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited
  }
  // comm is in parentheses and may contain spaces; the fields after the last ')' are fixed.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  // After comm: state(0) ppid(1) ... utime(11) stime(12)
  return { pid, ppid: Number(f[1]), comm, cpu: (Number(f[11]) + Number(f[12])) / ticksPerSecond() };
}

/** Every live process that descends from root (root excluded). */
export function descendants(root = process.pid): ProcInfo[] {
  const all: ProcInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) all.push(s);
  }
  const children = new Map<number, ProcInfo[]>();
  for (const p of all) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const out: ProcInfo[] = [];
  const stack = [root];
  while (stack.length) {
    for (const c of children.get(stack.pop()!) ?? []) {
      out.push(c);
      stack.push(c.pid);
    }
  }
  return out;
}

export const isMediasoupWorker = (p: ProcInfo): boolean => p.comm.startsWith('mediasoup-work');

/** CPU seconds per process, to diff two snapshots by pid (a process that exits mid-window loses its last ticks). */
export type CpuSnapshot = Map<number, ProcInfo>;

export function snapshotTree(filter: (p: ProcInfo) => boolean, root = process.pid): CpuSnapshot {
  return new Map(
    descendants(root)
      .filter(filter)
      .map((p) => [p.pid, p]),
  );
}

/** CPU seconds spent between two snapshots by the processes of the later one. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): number {
  let total = 0;
  for (const [pid, p] of after) total += p.cpu - (before.get(pid)?.cpu ?? 0);
  return total;
}

/** This Node process's own CPU seconds (user + system). */
export function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// ---------------------------------------------------------------- client builds

/**
 * Copies a client build (dist/ or dist-test/) to a temporary directory so a
 * concurrent `vite build` (which empties its output first) cannot break page
 * loads mid-run. Returns the copy's absolute path and a description.
 */
export function frozenBuild(dir: string): { path: string; label: string; cleanup: () => void } {
  const src = path.resolve(REPO_ROOT, dir);
  if (!fs.existsSync(path.join(src, 'index.html'))) {
    throw new Error(
      `${dir}/index.html is missing: build it first (${dir === 'dist' ? 'npx vite build' : 'npx vite build --mode e2ee-test'})`,
    );
  }
  const mtime = fs.statSync(path.join(src, 'index.html')).mtime.toISOString();
  const dst = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${path.basename(dir)}-`));
  fs.cpSync(src, dst, { recursive: true });
  return { path: dst, label: `${dir}/ (built ${mtime})`, cleanup: () => fs.rmSync(dst, { recursive: true, force: true }) };
}

/** A fresh directory under the system temp dir. */
export function tmpDirFor(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

/** CPU seconds per thread of the given processes, keyed by `pid/tid`, with the thread's name. */
export function threadSnapshot(pids: Iterable<number>): Map<string, { name: string; cpu: number }> {
  const out = new Map<string, { name: string; cpu: number }>();
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      let text: string;
      try {
        text = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      } catch {
        continue;
      }
      const close = text.lastIndexOf(')');
      const name = text.slice(text.indexOf('(') + 1, close);
      const f = text.slice(close + 2).split(' ');
      out.set(`${pid}/${tid}`, { name, cpu: (Number(f[11]) + Number(f[12])) / ticksPerSecond() });
    }
  }
  return out;
}

/** CPU seconds per thread name (digits folded, e.g. 'ThreadPoolForeg'), between two thread snapshots. */
export function threadCpuByName(
  before: Map<string, { name: string; cpu: number }>,
  after: Map<string, { name: string; cpu: number }>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, t] of after) {
    const name = t.name.replace(/\d+/g, '#').trim();
    out.set(name, (out.get(name) ?? 0) + t.cpu - (before.get(k)?.cpu ?? 0));
  }
  return out;
}
