// Messages and result shapes shared by the browser bench page, its worker and
// the Node driver (bench/sframe-browser.ts). Types only.

export interface BenchConfig {
  /** Measuring budget per cell, ms (warm-up not included). */
  cellMs: number;
  /** Budget for the profile cells (bare WebCrypto floors etc.), ms. */
  profileMs: number;
  /** Hard cap on samples per cell (over all rounds). */
  maxSamples: number;
  /** The whole cell list runs this many times, each cell's budget split over the rounds. */
  rounds: number;
}

/** Per-frame statistics of one cell, in microseconds. */
export interface CellStats {
  p50: number;
  p99: number;
  mean: number;
  /** Frame bytes per µs of the measured loop = MB/s. */
  mbps: number;
  samples: number;
  /** Frames timed together per sample (1 = every frame timed on its own). */
  batch: number;
  /** Rounds measured, and how many of them while other processes were idle. The figures come from those clean rounds if there are any. */
  rounds: number;
  cleanRounds: number;
}

export interface FrameCell {
  suite: number;
  suiteName: string;
  codec: string;
  size: number;
  /** encrypt + decrypt of one frame through the app's encrypt and decrypt stages, back to back. */
  roundTrip: CellStats;
  encrypt: CellStats;
  decrypt: CellStats;
  /** Frame latency through an encrypt TransformStream piped into a decrypt TransformStream. */
  pipeline: CellStats;
}

export interface BaselineCell {
  codec: string;
  size: number;
  /** new Uint8Array(n) + set(): the least a transform does per frame. */
  copy: CellStats;
  /** Two copy-only TransformStreams piped together (stream overhead without crypto). */
  copyPipeline: CellStats;
}

export interface ProfileCell {
  name: string;
  size: number;
  stats: CellStats;
}

export interface KeySetup {
  suite: number;
  /** setSendKey + addReceiveKey on fresh participants (HKDF + importKey, once per KID). */
  p50: number;
  p99: number;
  /** From rounds measured while other processes were idle. */
  clean: boolean;
}

export interface BenchResult {
  userAgent: string;
  crossOriginIsolated: boolean;
  /** Smallest observed step of performance.now() in the worker, µs. */
  timerResolutionUs: number;
  hardwareConcurrency: number;
  config: BenchConfig;
  frames: FrameCell[];
  baselines: BaselineCell[];
  profile: ProfileCell[];
  keySetup: KeySetup[];
  /** Cell rounds the driver rejected (measured while other processes were busy) and that ran again. */
  retriedCellRounds: number;
  elapsedMs: number;
}

export type PageToWorker = { type: 'run'; config: BenchConfig } | ({ type: 'gate-reply'; id: number } & GateVerdict);

/** keep: count this round (else it runs again); clean: other processes stayed idle while it ran. */
export interface GateVerdict {
  keep: boolean;
  clean: boolean;
}

/** Before a cell round (start) and after it (end); the reply to 'end' says whether to keep its samples. */
export type GateKind = 'start' | 'end';

export type WorkerToPage =
  | { type: 'progress'; text: string }
  | { type: 'done'; result: BenchResult }
  | { type: 'error'; message: string }
  | { type: 'gate'; id: number; kind: GateKind; label: string };
