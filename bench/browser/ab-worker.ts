/// <reference lib="webworker" />
// The interleaved A/B bench in one module Web Worker (bench/sframe-ab.ts).
// Every round runs every cell once, the cells in a fresh random order, each
// cell WARMUP untimed frames then `frames` timed ones, so a slow stretch of a
// shared machine lands on all variants alike instead of on whichever ran then.
//
// enc+dec cells: one frame encrypted then decrypted, back to back, by
//   - bare: the bare AES-128-GCM encrypt+decrypt pair (pre-imported key, fixed IV and AAD), the floor;
//   - store-copy / store-grow: SFrameKeyStore (suite 4, the video default), with the output frame
//     built in a new buffer (the path without ArrayBuffer.prototype.transfer) or as shipped: grown
//     from WebCrypto's result when that is GROW_FROM_BYTES or longer (setGrowInPlace, media-frame.ts);
//   - store-base: SFrameKeyStore as shipped (grow from GROW_FROM_BYTES) from shared/sframe at the
//     git revision --base (default HEAD), which bench/sframe-ab.ts extracts and aliases as
//     'ab-base-sframe': the code before an uncommitted change, in the same rounds as the change;
//   - with --diag, store-grow-all (grown at every size), each direction alone (diagCells), and the
//     stores with WebCrypto stubbed out (jsOnlyCells): the JS around the two calls.
// pipeline cells: one frame's latency through the app's encrypt TransformStream
// piped into its decrypt TransformStream (FrameCryptor stages, as the frame
// worker pipes them), one frame in flight, against two copy-only stages.

import type { EncodedFrame } from '../../client/src/e2ee/worker/pipeline.ts';
import {
  CIPHER_SUITES,
  createKeyContext,
  encryptMediaFrame,
  openMediaFrame,
  parseMediaFrame,
  setGrowInPlace,
  SFrameKeyStore,
  type Result,
} from '../../shared/sframe/index.ts';
import type * as Sframe from '../../shared/sframe/index.ts';
// @ts-expect-error -- a Vite alias (bench/sframe-ab.ts) to shared/sframe at the --base revision, same API
import * as baseModule from 'ab-base-sframe';
import type { AbConfig, AbResult, AbSeries, AbToPage } from './ab-protocol.ts';
import { copyStage, cryptoStages, FRAMES, kidFor, makeFrame, makeParticipants } from './frame-cells.ts';

/** Pipeline cells only at the bench's video sizes. */
const PIPELINE_SIZES = new Set(FRAMES.filter((f) => f.codec === 'vp8').map((f) => f.size));

/** shared/sframe at the --base revision. */
const base = baseModule as typeof Sframe;

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (m: AbToPage): void => scope.postMessage(m);
const WARMUP = 2;
const SUITE = 4;

const keepGrowOff = (): void => void setGrowInPlace(false);
const keepGrowOn = (): void => {
  if (!setGrowInPlace(true)) throw new Error('ArrayBuffer.prototype.transfer is missing: no grow variant');
};
const noMode = (): void => {};
/** The store variants: how media-frame.ts builds the output frame, applied before each of the variant's cells runs. */
const STORE_MODES: ReadonlyArray<readonly [string, () => void]> = [
  ['store-copy', keepGrowOff],
  ['store-grow', keepGrowOn],
];
/** The --base revision's store as it ships (its own copy of media-frame.ts, so its own grow switch). */
const baseAsShipped = (): void => void base.setGrowInPlace(true);
/** --diag: also grow results of every size, to see where growing starts to pay (GROW_FROM_BYTES). */
const growAll = (): void => {
  if (!setGrowInPlace(true, 0)) throw new Error('ArrayBuffer.prototype.transfer is missing: no grow variant');
};

interface AbCell {
  series: AbSeries;
  /** Sets the frame path up for this cell (runs before each of its rounds). */
  mode: () => void;
  /** One frame, resolving to its µs. */
  frame: () => Promise<number>;
}

/** A cell that times `op` per frame; checks inside op are timed too, alike for all variants. */
function timedCell(kind: AbSeries['kind'], variant: string, size: number, mode: () => void, op: () => Promise<unknown>): AbCell {
  return {
    series: { kind, variant, size, perFrame: [], roundMeans: [] },
    mode,
    frame: async () => {
      const t0 = performance.now();
      await op();
      return (performance.now() - t0) * 1000;
    },
  };
}

/** Checks a round trip: every byte the first time for each cell, then length, first and middle byte. */
function expectFrame(got: Uint8Array, frame: Uint8Array, where: string): void {
  const mid = frame.length >> 1;
  let same = got.length === frame.length && got[mid] === frame[mid] && got[0] === frame[0];
  const cell = `${where} ${frame.length}`;
  if (same && !checkedInFull.has(cell)) {
    checkedInFull.add(cell);
    same = got.every((b, i) => b === frame[i]);
  }
  if (!same) throw new Error(`${where}: round trip mismatch`);
}
const checkedInFull = new Set<string>();

function must<T>(r: Result<T>, where: string): T {
  if (!r.ok) throw new Error(`${where}: ${r.error.code} ${r.error.message}`);
  return r.value;
}

const randomKey = (): Uint8Array<ArrayBuffer> => crypto.getRandomValues(new Uint8Array(16));

async function bareGcm(): Promise<{ key: CryptoKey; params: AesGcmParams }> {
  const key = await crypto.subtle.importKey('raw', randomKey(), 'AES-GCM', false, ['encrypt', 'decrypt']);
  return {
    key,
    params: { name: 'AES-GCM', iv: crypto.getRandomValues(new Uint8Array(12)), additionalData: new Uint8Array(8), tagLength: 128 },
  };
}

async function bareCell(frame: Uint8Array<ArrayBuffer>): Promise<AbCell> {
  const { key, params } = await bareGcm();
  return timedCell('enc+dec', 'bare', frame.length, noMode, async () => {
    const sealed = await crypto.subtle.encrypt(params, key, frame);
    expectFrame(new Uint8Array(await crypto.subtle.decrypt(params, key, sealed)), frame, 'bare');
  });
}

async function storeCell(
  variant: string,
  mode: () => void,
  codec: 'opus' | 'vp8',
  frame: Uint8Array<ArrayBuffer>,
  Store: typeof SFrameKeyStore = SFrameKeyStore,
  check = true,
): Promise<AbCell> {
  const baseKey = randomKey();
  const sender = new Store({ suite: SUITE });
  const receiver = new Store({ suite: SUITE });
  must(await sender.setSendKey(kidFor(SUITE), baseKey), variant);
  must(await receiver.addReceiveKey(kidFor(SUITE), baseKey), variant);
  return timedCell('enc+dec', variant, frame.length, mode, async () => {
    const sealed = must(await sender.encrypt(codec, frame), variant);
    const opened = must(await receiver.decrypt(codec, sealed.data), variant);
    if (check) expectFrame(opened.data, frame, variant);
  });
}

// ---- --diag: WebCrypto stubbed out ----
//
// crypto.subtle shadowed by an object whose encrypt/decrypt resolve at once
// to a new buffer of the result's length (contents not checked), so a cell
// times only the JS around the two calls; 'js: stub pair' is the two stub
// calls alone. Every cell's run starts with the real subtle (run()).

const STUB_SUBTLE = {
  encrypt: (_alg: unknown, _key: unknown, data: ArrayBufferView) => Promise.resolve(new ArrayBuffer(data.byteLength + 16)),
  decrypt: (_alg: unknown, _key: unknown, data: ArrayBufferView) => Promise.resolve(new ArrayBuffer(data.byteLength - 16)),
};
const stubOn = (): void => void Object.defineProperty(self.crypto, 'subtle', { value: STUB_SUBTLE, configurable: true });
const stubOff = (): void => void Reflect.deleteProperty(self.crypto, 'subtle');

async function jsOnlyCells(codec: 'opus' | 'vp8', frame: Uint8Array<ArrayBuffer>): Promise<AbCell[]> {
  const stubbed = (mode: () => void) => (): void => {
    mode();
    stubOn();
  };
  return [
    timedCell('enc+dec', 'js: stub pair', frame.length, stubbed(noMode), async () => {
      const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, {} as CryptoKey, frame);
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, {} as CryptoKey, new Uint8Array(sealed));
    }),
    await storeCell('js: store', stubbed(keepGrowOn), codec, frame, SFrameKeyStore, false),
    await storeCell('js: store-base', stubbed(baseAsShipped), codec, frame, base.SFrameKeyStore, false),
  ];
}

/**
 * --diag: each direction on its own, bare and through media-frame.ts (no key store), so the gap
 * above the bare pair can be split into encrypt, decrypt and the store's own JS.
 */
async function diagCells(codec: 'opus' | 'vp8', frame: Uint8Array<ArrayBuffer>): Promise<AbCell[]> {
  const { key, params } = await bareGcm();
  const sealed = await crypto.subtle.encrypt(params, key, frame);
  const ctx = must(await createKeyContext(CIPHER_SUITES[SUITE], kidFor(SUITE), randomKey()), 'diag');
  const ctr = 1000n;
  const wire = must(await encryptMediaFrame(ctx, ctr, codec, frame), 'diag');
  const size = frame.length;
  const scratch = new Uint8Array(size + 64);
  const open = (): Promise<unknown> => openMediaFrame(ctx, must(parseMediaFrame(codec, wire), 'diag')).then((r) => must(r, 'diag open'));
  const seal = (): Promise<unknown> => encryptMediaFrame(ctx, ctr, codec, frame).then((r) => must(r, 'diag seal'));
  return [
    timedCell('enc+dec', 'diag: bare encrypt', size, noMode, () => crypto.subtle.encrypt(params, key, frame)),
    timedCell('enc+dec', 'diag: bare decrypt', size, noMode, () => crypto.subtle.decrypt(params, key, sealed)),
    timedCell('enc+dec', 'diag: bare encrypt subarray', size, noMode, () => crypto.subtle.encrypt(params, key, frame.subarray(3))),
    timedCell('enc+dec', 'diag: bare encrypt+transfer', size, noMode, async () => {
      const b = await crypto.subtle.encrypt(params, key, frame);
      const o = new Uint8Array((b as ArrayBuffer & { transfer(n: number): ArrayBuffer }).transfer(b.byteLength + 8));
      o.copyWithin(8, 0, b.byteLength);
    }),
    timedCell('enc+dec', 'diag: bare encrypt+new copy', size, noMode, async () => {
      const b = await crypto.subtle.encrypt(params, key, frame);
      const o = new Uint8Array(b.byteLength + 8);
      o.set(new Uint8Array(b), 8);
    }),
    timedCell('enc+dec', 'diag: bare encrypt+copy to reused', size, noMode, async () => {
      const b = await crypto.subtle.encrypt(params, key, frame);
      scratch.set(new Uint8Array(b), 8);
    }),
    ...STORE_MODES.flatMap(([variant, mode]) => [
      timedCell('enc+dec', `diag: encryptMediaFrame, ${variant.slice(6)}`, size, mode, seal),
      timedCell('enc+dec', `diag: openMediaFrame, ${variant.slice(6)}`, size, mode, open),
    ]),
  ];
}

/** Streams built once and kept for the whole run; each call writes one frame and resolves when the sink has it. */
function pipelineCell(
  variant: string,
  mode: () => void,
  stages: TransformStream<EncodedFrame, EncodedFrame>[],
  frame: Uint8Array<ArrayBuffer>,
): AbCell {
  let waiting: { arrived: (t: number) => void; failed: (e: unknown) => void } | undefined;
  let broken: unknown;
  const source = new TransformStream<EncodedFrame, EncodedFrame>();
  let readable = source.readable;
  for (const stage of stages) readable = readable.pipeThrough(stage);
  const sink = new WritableStream<EncodedFrame>({
    write(f) {
      const t = performance.now();
      expectFrame(new Uint8Array(f.data), frame, `${variant} pipeline`);
      waiting?.arrived(t);
    },
  });
  readable.pipeTo(sink).catch((e: unknown) => {
    broken = e ?? new Error(`${variant} pipeline failed`);
    waiting?.failed(broken);
  });
  const writer = source.writable.getWriter();
  return {
    series: { kind: 'pipeline', variant, size: frame.length, perFrame: [], roundMeans: [] },
    mode,
    frame: async () => {
      if (broken !== undefined) throw broken;
      const arrival = new Promise<number>((arrived, failed) => (waiting = { arrived, failed }));
      const t0 = performance.now();
      writer.write({ data: frame.buffer, type: 'delta' }).catch(() => {});
      return ((await arrival) - t0) * 1000;
    },
  };
}

async function buildCells(diag: boolean, sizes: readonly number[]): Promise<AbCell[]> {
  const cells: AbCell[] = [];
  for (const size of sizes) {
    const codec = size < 1000 ? 'opus' : 'vp8';
    const frame = makeFrame(codec, size);
    cells.push(await bareCell(frame));
    for (const [variant, mode] of STORE_MODES) cells.push(await storeCell(variant, mode, codec, frame));
    cells.push(await storeCell('store-base', baseAsShipped, codec, frame, base.SFrameKeyStore));
    if (diag) {
      cells.push(await storeCell('store-grow-all', growAll, codec, frame), ...(await diagCells(codec, frame)));
      cells.push(...(await jsOnlyCells(codec, frame)));
    }
    if (codec !== 'vp8' || !PIPELINE_SIZES.has(size)) continue;
    cells.push(pipelineCell('copy-only', noMode, [copyStage(), copyStage()], frame));
    for (const [variant, mode] of STORE_MODES) {
      const p = await makeParticipants(SUITE, randomKey(), codec);
      cells.push(pipelineCell(variant, mode, cryptoStages(p), frame));
    }
  }
  return cells;
}

function shuffled<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function run(cfg: AbConfig): Promise<AbResult> {
  const started = performance.now();
  const transfer = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
  post({ type: 'progress', text: `crossOriginIsolated=${String(scope.crossOriginIsolated)}, transfer=${String(transfer)}` });
  const cells = await buildCells(cfg.diag, cfg.sizes);
  for (let round = 0; round < cfg.rounds; round++) {
    for (const cell of shuffled(cells)) {
      stubOff();
      cell.mode();
      for (let i = 0; i < WARMUP; i++) await cell.frame();
      let sum = 0;
      for (let i = 0; i < cfg.frames; i++) {
        const us = await cell.frame();
        cell.series.perFrame.push(us);
        sum += us;
      }
      cell.series.roundMeans.push(sum / cfg.frames);
    }
    if ((round + 1) % 20 === 0)
      post({ type: 'progress', text: `round ${round + 1}/${cfg.rounds} at ${((performance.now() - started) / 1000).toFixed(1)} s` });
  }
  stubOff();
  setGrowInPlace(transfer);
  base.setGrowInPlace(transfer);
  return {
    userAgent: navigator.userAgent,
    crossOriginIsolated: scope.crossOriginIsolated,
    transfer,
    config: cfg,
    warmupFrames: WARMUP,
    series: cells.map((c) => c.series),
    elapsedMs: performance.now() - started,
  };
}

scope.onmessage = ({ data }: MessageEvent<AbConfig>) => {
  run(data).then(
    (result) => post({ type: 'done', result }),
    (e: unknown) => post({ type: 'error', message: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) }),
  );
};
