// Timing for the browser bench's cells: samples of an operation, batched when
// one run is shorter than 10 timer steps, collected per round so rounds
// measured while other processes were busy can be told apart.
//
// Timing: performance.now(), whose resolution here is measured and reported
// (5 µs when cross-origin isolated, 100 µs otherwise). A cell whose operation
// takes less than 10 timer steps is timed in batches of N frames and divided;
// the batch size is reported with the figures.

import type { CellStats } from './protocol.ts';

export const WARMUP_OPS = 150;
const WARMUP_MS = 100;
/** A sample must span at least this many timer steps, else frames are batched. */
const MIN_STEPS_PER_SAMPLE = 10;

let resolutionUs = 5;

/** Measures performance.now()'s step here and uses it for batching from now on; returns it in µs. */
export function calibrateTimer(): number {
  resolutionUs = measureResolutionUs();
  return resolutionUs;
}

function measureResolutionUs(): number {
  let min = Infinity;
  let last = performance.now();
  const end = last + 50;
  let steps = 0;
  while (steps < 1000) {
    const t = performance.now();
    if (t !== last) {
      if (t - last < min) min = t - last;
      last = t;
      steps++;
    }
    if (t > end) break;
  }
  return min * 1000;
}

export interface Sampled {
  perOp: number[];
  totalUs: number;
  ops: number;
  batch: number;
}

const emptySampled = (): Sampled => ({ perOp: [], totalUs: 0, ops: 0, batch: 1 });

function mergeInto(acc: Sampled, s: Sampled): void {
  for (const x of s.perOp) acc.perOp.push(x);
  acc.totalUs += s.totalUs;
  acc.ops += s.ops;
  acc.batch = Math.max(acc.batch, s.batch);
}

function summarize(s: Sampled, bytesPerOp: number, rounds = 1, cleanRounds = 1): CellStats {
  const sorted = Float64Array.from(s.perOp).sort();
  const n = sorted.length;
  const at = (q: number): number => sorted[Math.min(n - 1, Math.floor(q * n))] ?? NaN;
  const mean = s.totalUs / s.ops;
  return { p50: at(0.5), p99: at(0.99), mean, mbps: bytesPerOp / mean, samples: n, batch: s.batch, rounds, cleanRounds };
}

/**
 * A cell's samples over its rounds. Rounds during which other processes were
 * busy (as the driver saw it) are kept apart: the figures come from the clean
 * rounds whenever there is at least one.
 */
export class Acc {
  private readonly all = emptySampled();
  private readonly clean = emptySampled();
  private rounds = 0;
  private cleanRounds = 0;

  add(s: Sampled, clean: boolean): void {
    mergeInto(this.all, s);
    this.rounds++;
    if (clean) {
      mergeInto(this.clean, s);
      this.cleanRounds++;
    }
  }

  stats(bytesPerOp: number): CellStats {
    return summarize(this.cleanRounds > 0 ? this.clean : this.all, bytesPerOp, this.rounds, this.cleanRounds);
  }
}

function batchFor(meanUs: number): number {
  return Math.max(1, Math.ceil((MIN_STEPS_PER_SAMPLE * resolutionUs) / Math.max(meanUs, 1e-3)));
}

/** Warm-up: the first round of a cell runs long enough for the JIT; later rounds only re-touch caches. */
export const warmupOps = (first: boolean): number => (first ? WARMUP_OPS : 30);
export const warmupMs = (first: boolean): number => (first ? WARMUP_MS : 0);

interface Hooks {
  /** Called once before the measured loop (after warm-up). */
  start?: () => void;
  /** Called after each measured sample with its batch size. */
  sample?: (batch: number) => void;
}

export async function sampleAsync(
  op: () => Promise<void>,
  budgetMs: number,
  maxSamples: number,
  first: boolean,
  hooks: Hooks = {},
): Promise<Sampled> {
  const w0 = performance.now();
  for (let i = 0; i < warmupOps(first) || (performance.now() - w0 < warmupMs(first) && i < 20 * WARMUP_OPS); i++) await op();
  const e0 = performance.now();
  for (let i = 0; i < 50; i++) await op();
  const batch = batchFor(((performance.now() - e0) * 1000) / 50);
  hooks.start?.();
  const perOp: number[] = [];
  let totalUs = 0;
  const end = performance.now() + budgetMs;
  while (perOp.length < maxSamples && performance.now() < end) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) await op();
    const dt = (performance.now() - t0) * 1000;
    perOp.push(dt / batch);
    totalUs += dt;
    hooks.sample?.(batch);
  }
  return { perOp, totalUs, ops: perOp.length * batch, batch };
}

export function sampleSync(op: () => void, budgetMs: number, maxSamples: number, first: boolean): Sampled {
  const w0 = performance.now();
  for (let i = 0; i < 10 * warmupOps(first) || (performance.now() - w0 < warmupMs(first) && i < 1_000_000); i++) op();
  const e0 = performance.now();
  for (let i = 0; i < 1000; i++) op();
  const batch = batchFor(((performance.now() - e0) * 1000) / 1000);
  const perOp: number[] = [];
  let totalUs = 0;
  const end = performance.now() + budgetMs;
  while (perOp.length < maxSamples && performance.now() < end) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) op();
    const dt = (performance.now() - t0) * 1000;
    perOp.push(dt / batch);
    totalUs += dt;
  }
  return { perOp, totalUs, ops: perOp.length * batch, batch };
}

/**
 * One measured thing. Every cell runs once per round, and rounds repeat the
 * whole list, so a burst of load from elsewhere on the machine spreads over
 * all cells instead of spoiling one.
 */
export interface Cell {
  label: string;
  /** Measures one round; the samples count only once the returned commit() is called. */
  round(budgetMs: number, maxSamples: number, first: boolean): Promise<(clean: boolean) => void>;
  /** One-line summary for the progress log after the last round. */
  summary(): string;
}

export function copyCell(frame: Uint8Array, label: string) {
  const acc = new Acc();
  let sink = 0;
  const op = (): void => {
    const out = new Uint8Array(frame.length);
    out.set(frame);
    sink ^= out[sink & 63] ?? 0;
  };
  const cell: Cell & { stats: () => CellStats } = {
    label,
    async round(budgetMs, maxSamples, first) {
      const s = sampleSync(op, budgetMs, maxSamples, first);
      if (sink === -1) throw new Error('unreachable'); // keeps the copies observable
      return (clean) => acc.add(s, clean);
    },
    summary() {
      return `${label}: p50 ${acc.stats(frame.length).p50.toFixed(3)} µs`;
    },
    stats: () => acc.stats(frame.length),
  };
  return cell;
}

export function syncCell(op: () => void, size: number, label: string) {
  const acc = new Acc();
  const cell: Cell & { stats: () => CellStats } = {
    label,
    async round(budgetMs, maxSamples, first) {
      const s = sampleSync(op, budgetMs, maxSamples, first);
      return (clean) => acc.add(s, clean);
    },
    summary() {
      return `${label}: p50 ${acc.stats(size).p50.toFixed(2)} µs`;
    },
    stats: () => acc.stats(size),
  };
  return cell;
}

export function asyncCell(op: () => Promise<void>, size: number, label: string) {
  const acc = new Acc();
  const cell: Cell & { stats: () => CellStats } = {
    label,
    async round(budgetMs, maxSamples, first) {
      const s = await sampleAsync(op, budgetMs, maxSamples, first);
      return (clean) => acc.add(s, clean);
    },
    summary() {
      return `${label}: p50 ${acc.stats(size).p50.toFixed(1)} µs`;
    },
    stats: () => acc.stats(size),
  };
  return cell;
}
