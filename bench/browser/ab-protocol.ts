// Messages and results of the interleaved A/B bench (bench/sframe-ab.ts, its
// page ab-main.ts and worker ab-worker.ts). Types only.

export interface AbConfig {
  /** Every cell runs once per round, the cells of a round in random order. */
  rounds: number;
  /** Frames timed per cell and round (after WARMUP untimed ones). */
  frames: number;
  /** Also run the breakdown cells (each direction alone, bare and through media-frame.ts). */
  diag: boolean;
  /** Frame sizes in bytes: Opus below 1000, VP8 delta frames from 1000 (pipeline cells at 10 and 60 KB only). */
  sizes: number[];
}

/** One cell: a variant at one frame size, either encrypt+decrypt back to back or through the two TransformStreams. */
export interface AbSeries {
  kind: 'enc+dec' | 'pipeline';
  variant: string;
  size: number;
  /** µs per frame, every timed frame of every round. */
  perFrame: number[];
  /** µs, mean of each round's frames (index = round); finer than one frame's 5 µs timer step. */
  roundMeans: number[];
}

export interface AbResult {
  userAgent: string;
  crossOriginIsolated: boolean;
  /** Whether ArrayBuffer.prototype.transfer exists in the worker (the grow variants need it). */
  transfer: boolean;
  config: AbConfig;
  warmupFrames: number;
  series: AbSeries[];
  elapsedMs: number;
  /** The git revision store-base ran (added by bench/sframe-ab.ts; absent in results saved before it existed). */
  base?: string;
}

export type AbToPage = { type: 'progress'; text: string } | { type: 'done'; result: AbResult } | { type: 'error'; message: string };
