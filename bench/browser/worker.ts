/// <reference lib="webworker" />
// The bench itself, in a module Web Worker like the app's frame worker
// (client/src/e2ee/frame-worker.ts): frames go through SFrameKeyStore.encrypt /
// .decrypt exactly as FrameKeys calls them, and the pipeline cells use
// TransformStreams shaped like the worker's run() (view the ArrayBuffer,
// encrypt/decrypt, swap frame.data, enqueue).
//
// Timing: performance.now(), whose resolution here is measured and reported
// (5 µs when cross-origin isolated, 100 µs otherwise). A cell whose operation
// takes less than 10 timer steps is timed in batches of N frames and divided;
// the batch size is reported with the figures.

import {
  aeadOpen,
  aeadSeal,
  CIPHER_SUITES,
  createKeyContext,
  decryptMediaFrame,
  encryptMediaFrame,
  SFrameKeyStore,
  sframeDecrypt,
  sframeEncrypt,
  clearByteCount,
  encodeHeader,
  MAX_HEADER_LENGTH,
  parseMediaFrame,
  type CipherSuite,
  type CipherSuiteId,
  type KeyContext,
} from '../../shared/sframe/index.ts';
import type { BaselineCell, BenchConfig, BenchResult, CellStats, FrameCell, GateVerdict, KeySetup, PageToWorker, ProfileCell, WorkerToPage } from './protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (m: WorkerToPage): void => scope.postMessage(m);
const progress = (text: string): void => post({ type: 'progress', text });

/** What the app's transforms see: RTCEncodedVideoFrame / RTCEncodedAudioFrame reduced to what they touch. */
interface EncodedFrame {
  data: ArrayBuffer;
  type?: 'key' | 'delta' | 'empty';
}

const FRAMES: ReadonlyArray<{ codec: 'opus' | 'vp8'; size: number }> = [
  { codec: 'opus', size: 100 },
  { codec: 'vp8', size: 10_000 },
  { codec: 'vp8', size: 60_000 },
];
const OWNER = 'participant-2';
const WARMUP_OPS = 150;
const WARMUP_MS = 100;
/** A sample must span at least this many timer steps, else frames are batched. */
const MIN_STEPS_PER_SAMPLE = 10;

let resolutionUs = 5;

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

interface Sampled {
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
class Acc {
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
const warmupOps = (first: boolean): number => (first ? WARMUP_OPS : 30);
const warmupMs = (first: boolean): number => (first ? WARMUP_MS : 0);

interface Hooks {
  /** Called once before the measured loop (after warm-up). */
  start?: () => void;
  /** Called after each measured sample with its batch size. */
  sample?: (batch: number) => void;
}

async function sampleAsync(op: () => Promise<void>, budgetMs: number, maxSamples: number, first: boolean, hooks: Hooks = {}): Promise<Sampled> {
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

function sampleSync(op: () => void, budgetMs: number, maxSamples: number, first: boolean): Sampled {
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
interface Cell {
  label: string;
  /** Measures one round; the samples count only once the returned commit() is called. */
  round(budgetMs: number, maxSamples: number, first: boolean): Promise<(clean: boolean) => void>;
  /** One-line summary for the progress log after the last round. */
  summary(): string;
}

function makeFrame(codec: 'opus' | 'vp8', size: number): Uint8Array<ArrayBuffer> {
  const f = new Uint8Array(size);
  crypto.getRandomValues(f.subarray(0, Math.min(size, 65536)));
  // VP8: P bit (lowest bit of byte 0) set = interframe, 3 clear bytes. Opus: 1 clear TOC byte.
  f[0] = codec === 'vp8' ? 0x11 : 0xfc;
  return f;
}

/** A KID shaped like the app's (epoch << 16 | roster index). */
const kidFor = (suite: CipherSuiteId): bigint => (BigInt(suite + 10) << 16n) | 2n;

/** One sender's store and one receiver's store holding the sender's key, as two participants' frame workers would. */
async function makeStores(suite: CipherSuiteId, baseKey: Uint8Array): Promise<{ sender: SFrameKeyStore; receiver: SFrameKeyStore }> {
  const kid = kidFor(suite);
  // Same construction as FrameKeys: the page is told of every counter reservation.
  const sender = new SFrameKeyStore({ onReserve: (k, upTo) => post({ type: 'ctr-reserved', kid: k, upTo }) });
  const receiver = new SFrameKeyStore({ onReserve: (k, upTo) => post({ type: 'ctr-reserved', kid: k, upTo }) });
  const s = await sender.setSendKey(kid, baseKey, 0n, { suite });
  if (!s.ok) throw new Error(`setSendKey: ${s.error.code} ${s.error.message}`);
  const r = await receiver.addReceiveKey(kid, baseKey, { owner: OWNER, suite });
  if (!r.ok) throw new Error(`addReceiveKey: ${r.error.code} ${r.error.message}`);
  return { sender, receiver };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** encrypt then decrypt of one frame through the two stores, back to back; also times each half. */
function roundTripCell(sender: SFrameKeyStore, receiver: SFrameKeyStore, codec: string, frame: Uint8Array, label: string) {
  const total = new Acc();
  const enc = new Acc();
  const dec = new Acc();
  let encAcc = 0;
  let decAcc = 0;
  let first = true;
  const mid = frame.length >> 1;
  const op = async (): Promise<void> => {
    const a = performance.now();
    const e = await sender.encrypt(codec, frame);
    const b = performance.now();
    if (!e.ok) throw new Error(`encrypt: ${e.error.code} ${e.error.message}`);
    const d = await receiver.decrypt(codec, e.value.data);
    const c = performance.now();
    if (!d.ok) throw new Error(`decrypt: ${d.error.code} ${d.error.message}`);
    if (d.value.owner !== OWNER || d.value.data.length !== frame.length || d.value.data[mid] !== frame[mid]) throw new Error('round trip mismatch');
    if (first) {
      if (!sameBytes(d.value.data, frame)) throw new Error('round trip mismatch');
      first = false;
    }
    encAcc += b - a;
    decAcc += c - b;
  };
  const stats = () => ({ roundTrip: total.stats(frame.length), encrypt: enc.stats(frame.length), decrypt: dec.stats(frame.length) });
  const cell: Cell & { stats: typeof stats } = {
    label,
    async round(budgetMs, maxSamples, firstRound) {
      const encS: number[] = [];
      const decS: number[] = [];
      const s = await sampleAsync(op, budgetMs, maxSamples, firstRound, {
        start: () => {
          encAcc = 0;
          decAcc = 0;
        },
        sample: (batch) => {
          encS.push((encAcc * 1000) / batch);
          decS.push((decAcc * 1000) / batch);
          encAcc = 0;
          decAcc = 0;
        },
      });
      const sum = (xs: number[]): number => xs.reduce((x, y) => x + y, 0) * s.batch;
      return (clean) => {
        total.add(s, clean);
        enc.add({ perOp: encS, totalUs: sum(encS), ops: s.ops, batch: s.batch }, clean);
        dec.add({ perOp: decS, totalUs: sum(decS), ops: s.ops, batch: s.batch }, clean);
      };
    },
    summary() {
      const r = total.stats(frame.length);
      return `${label}: enc+dec p50 ${r.p50.toFixed(1)} µs p99 ${r.p99.toFixed(1)} µs`;
    },
    stats,
  };
  return cell;
}

// ---- pipeline: sender transform piped into receiver transform ----

function encryptStage(store: SFrameKeyStore, codec: string): TransformStream<EncodedFrame, EncodedFrame> {
  return new TransformStream<EncodedFrame, EncodedFrame>({
    async transform(frame, controller) {
      const data = new Uint8Array(frame.data);
      const r = await store.encrypt(codec, data);
      if (!r.ok) throw new Error(`encrypt: ${r.error.code} ${r.error.message}`); // the app drops; the bench must not hide it
      frame.data = r.value.data.buffer as ArrayBuffer;
      controller.enqueue(frame);
    },
  });
}

function decryptStage(store: SFrameKeyStore, codec: string, owner: string): TransformStream<EncodedFrame, EncodedFrame> {
  return new TransformStream<EncodedFrame, EncodedFrame>({
    async transform(frame, controller) {
      const data = new Uint8Array(frame.data);
      if (data.byteLength === 0) return;
      const r = await store.decrypt(codec, data);
      if (!r.ok) throw new Error(`decrypt: ${r.error.code} ${r.error.message}`);
      if (r.value.owner !== owner) throw new Error(`frame from ${String(r.value.owner)}, not ${owner}`);
      frame.data = r.value.data.buffer as ArrayBuffer;
      controller.enqueue(frame);
    },
  });
}

function copyStage(): TransformStream<EncodedFrame, EncodedFrame> {
  return new TransformStream<EncodedFrame, EncodedFrame>({
    transform(frame, controller) {
      const data = new Uint8Array(frame.data);
      const out = new Uint8Array(data.length);
      out.set(data);
      frame.data = out.buffer;
      controller.enqueue(frame);
    },
  });
}

/**
 * Per-frame latency from the moment a frame is written into the first stage
 * until the sink receives it, one frame in flight at a time (a transform
 * sees frames tens of ms apart in a call, so frames do not queue). Never
 * batched: latency is per frame by definition. Each round builds fresh streams.
 */
function pipelineCell(makeStages: () => TransformStream<EncodedFrame, EncodedFrame>[], frame: Uint8Array<ArrayBuffer>, label: string) {
  const acc = new Acc();
  const mid = frame.length >> 1;
  const cell: Cell & { stats: () => CellStats } = {
    label,
    async round(budgetMs, maxSamples, first) {
      const source = new TransformStream<EncodedFrame, EncodedFrame>();
      let arrive: ((t: number) => void) | undefined;
      let failed: ((e: unknown) => void) | undefined;
      let pipeError: unknown;
      const sink = new WritableStream<EncodedFrame>({
        write(f) {
          const t = performance.now();
          const got = new Uint8Array(f.data);
          if (got.length !== frame.length || got[mid] !== frame[mid]) throw new Error('pipeline output mismatch');
          const a = arrive;
          arrive = undefined;
          a?.(t);
        },
      });
      let readable = source.readable;
      for (const s of makeStages()) readable = readable.pipeThrough(s);
      const piped = readable.pipeTo(sink).catch((e: unknown) => {
        pipeError = e ?? new Error('pipeline failed');
        failed?.(pipeError);
      });
      const writer = source.writable.getWriter();
      const type = 'delta' as const;
      let lastUs = 0;
      const op = async (): Promise<void> => {
        if (pipeError !== undefined) throw pipeError;
        const arrived = new Promise<number>((res, rej) => {
          arrive = res;
          failed = rej;
        });
        const t0 = performance.now();
        writer.write({ data: frame.buffer, type }).catch(() => {});
        lastUs = ((await arrived) - t0) * 1000;
      };
      const w0 = performance.now();
      for (let i = 0; i < warmupOps(first) || (performance.now() - w0 < warmupMs(first) && i < 20 * WARMUP_OPS); i++) await op();
      const s: Sampled = { perOp: [], totalUs: 0, ops: 0, batch: 1 };
      const end = performance.now() + budgetMs;
      while (s.perOp.length < maxSamples && performance.now() < end) {
        await op();
        s.perOp.push(lastUs);
        s.totalUs += lastUs;
        s.ops++;
      }
      await writer.close();
      await piped;
      if (pipeError !== undefined) throw pipeError;
      return (clean) => acc.add(s, clean);
    },
    summary() {
      const r = acc.stats(frame.length);
      return `${label}: p50 ${r.p50.toFixed(1)} µs p99 ${r.p99.toFixed(1)} µs`;
    },
    stats: () => acc.stats(frame.length),
  };
  return cell;
}

function copyCell(frame: Uint8Array, label: string) {
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
      if (sink === -1) progress('unreachable'); // keeps the copies observable
      return (clean) => acc.add(s, clean);
    },
    summary() {
      return `${label}: p50 ${acc.stats(frame.length).p50.toFixed(3)} µs`;
    },
    stats: () => acc.stats(frame.length),
  };
  return cell;
}

function syncCell(op: () => void, size: number, label: string) {
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

function asyncCell(op: () => Promise<void>, size: number, label: string) {
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

// ---- profile: the WebCrypto floor under each suite, and per-call overhead ----

interface RawKeys {
  gcm128: CryptoKey;
  gcm256: CryptoKey;
  ctr: CryptoKey;
  hmac: CryptoKey;
}

async function rawKeys(): Promise<RawKeys> {
  const s = crypto.subtle;
  const rnd = (n: number): Uint8Array<ArrayBuffer> => crypto.getRandomValues(new Uint8Array(n));
  return {
    gcm128: await s.importKey('raw', rnd(16), 'AES-GCM', false, ['encrypt', 'decrypt']),
    gcm256: await s.importKey('raw', rnd(32), 'AES-GCM', false, ['encrypt', 'decrypt']),
    ctr: await s.importKey('raw', rnd(16), 'AES-CTR', false, ['encrypt', 'decrypt']),
    hmac: await s.importKey('raw', rnd(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
  };
}

async function profileCells(): Promise<Array<{ name: string; size: number; cell: Cell & { stats: () => CellStats } }>> {
  const keys = await rawKeys();
  const s = crypto.subtle;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const counter = new Uint8Array(16);
  counter.set(iv);
  const aad = crypto.getRandomValues(new Uint8Array(7)); // ~ SFrame header (4) + VP8 delta clear bytes (3)
  const gcm = (key: CryptoKey, pt: Uint8Array<ArrayBuffer>) => async (): Promise<void> => {
    const params = { name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 };
    const ct = await s.encrypt(params, key, pt);
    await s.decrypt(params, key, ct);
  };
  const macInput = (ct: ArrayBuffer): Uint8Array<ArrayBuffer> => {
    const m = new Uint8Array(24 + iv.length + aad.length + ct.byteLength);
    m.set(iv, 24);
    m.set(aad, 24 + iv.length);
    m.set(new Uint8Array(ct), 24 + iv.length + aad.length);
    return m;
  };
  const ctrHmac = (pt: Uint8Array<ArrayBuffer>, parallelOpen: boolean) => async (): Promise<void> => {
    const ctrParams = { name: 'AES-CTR', counter, length: 32 };
    const ct = await s.encrypt(ctrParams, keys.ctr, pt);
    await s.sign('HMAC', keys.hmac, macInput(ct));
    if (parallelOpen) {
      await Promise.all([s.sign('HMAC', keys.hmac, macInput(ct)), s.decrypt(ctrParams, keys.ctr, ct)]);
    } else {
      await s.sign('HMAC', keys.hmac, macInput(ct));
      await s.decrypt(ctrParams, keys.ctr, ct);
    }
  };
  const empty = new Uint8Array(0);
  const cells: Array<{ name: string; size: number; cell: Cell & { stats: () => CellStats } }> = [];
  const add = (name: string, size: number, op: () => Promise<void>): void => {
    cells.push({ name, size, cell: asyncCell(op, size, `profile ${name}${size ? ` ${size} B` : ''}`) });
  };
  add('one WebCrypto call: AES-GCM encrypt of 0 bytes', 0, async () => {
    await s.encrypt({ name: 'AES-GCM', iv, tagLength: 128 }, keys.gcm128, empty);
  });
  add('async overhead: await of a resolved promise', 0, async () => {
    await Promise.resolve();
  });
  // The SFrame core in layers (suite 4), to see what each layer adds over the bare WebCrypto floor.
  const ctx4 = await createKeyContext(CIPHER_SUITES[4], kidFor(4), crypto.getRandomValues(new Uint8Array(16)));
  if (!ctx4.ok) throw new Error(ctx4.error.message);
  const ctx: KeyContext = ctx4.value;
  const keyFor = (): KeyContext => ctx;
  const must = <T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T => {
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.value;
  };
  let ctr = 1n << 20n;
  for (const { size } of FRAMES) {
    const pt = makeFrame('vp8', size);
    const metadata = pt.subarray(0, 3);
    const body = pt.subarray(3);
    const header = new Uint8Array([0x1b, 0x0b, 0x00, 0x02, 0x10, 0x00]); // stands in for an encoded header in the AAD
    const aad4 = new Uint8Array([...header, ...metadata]);
    add('floor suite 4: bare AES-128-GCM encrypt+decrypt', size, gcm(keys.gcm128, pt));
    add('suite 4 layer 1: aeadSeal + aeadOpen (aead.ts)', size, async () => {
      const sealed = must(await aeadSeal(ctx.suite, ctx.aead, iv, aad4, body));
      must(await aeadOpen(ctx.suite, ctx.aead, iv, aad4, sealed));
    });
    add('suite 4 layer 2: + header, nonce, AAD (sframeEncrypt/sframeDecrypt)', size, async () => {
      const c = ctr++;
      const wire = must(await sframeEncrypt(ctx, c, metadata, body));
      must(await sframeDecrypt(keyFor, metadata, wire));
    });
    add('suite 4 layer 3: + clear bytes, output copies (encrypt/decryptMediaFrame)', size, async () => {
      const c = ctr++;
      const wire = must(await encryptMediaFrame(ctx, c, 'vp8', pt));
      must(await decryptMediaFrame(keyFor, 'vp8', wire));
    });
    add('floor suite 5: bare AES-256-GCM encrypt+decrypt', size, gcm(keys.gcm256, pt));
    add('floor suites 1-3: bare AES-CTR + HMAC, sequential as aead.ts', size, ctrHmac(pt, false));
    add('suites 1-3 variant: open with HMAC || AES-CTR in parallel', size, ctrHmac(pt, true));
  }
  // What a frame-sized buffer costs here: allocating one vs copying into one that exists,
  // and resizing one with ArrayBuffer.prototype.transfer (ES2024), which may reuse its memory.
  type Transferable = ArrayBuffer & { transfer(n: number): ArrayBuffer };
  for (const { size } of FRAMES) {
    const src = makeFrame('vp8', size);
    const dst = new Uint8Array(size);
    let sink = 0;
    let buf = new ArrayBuffer(size) as Transferable;
    const addSync = (name: string, op: () => void): void => {
      cells.push({ name, size, cell: syncCell(op, size, `profile ${name} ${size} B`) });
    };
    addSync('new ArrayBuffer(n): allocation only', () => {
      sink ^= new ArrayBuffer(size).byteLength;
    });
    addSync('copy n bytes into an existing buffer: no allocation', () => {
      dst.set(src);
      sink ^= dst[sink & 63] ?? 0;
    });
    addSync('ArrayBuffer transfer(n + 33) then transfer(n): grow and shrink', () => {
      buf = buf.transfer(size + 33) as Transferable;
      buf = buf.transfer(size) as Transferable;
      sink ^= buf.byteLength;
    });
    if (sink === -1) progress('unreachable');
  }

  // The SFrame JS path alone: SFrameKeyStore with crypto.subtle stubbed to return a
  // right-sized buffer at once, so what remains is header/nonce/AAD/counter/replay
  // work, allocations and the output copies, without the WebCrypto call.
  for (const suite of [4, 1] as const) {
    const base = crypto.getRandomValues(new Uint8Array(16));
    const stores = await makeStores(suite, base);
    for (const { codec, size } of FRAMES) {
      const frame = makeFrame(codec, size);
      const op = async (): Promise<void> => {
        const e = await stores.sender.encrypt(codec, frame);
        if (!e.ok) throw new Error(`stubbed encrypt: ${e.error.code}`);
        const d = await stores.receiver.decrypt(codec, e.value.data);
        if (!d.ok || d.value.data.length !== frame.length) throw new Error(`stubbed decrypt: ${d.ok ? 'length' : d.error.code}`);
      };
      cells.push({ name: `suite ${suite} SFrameKeyStore enc+dec, WebCrypto stubbed (JS + copies only)`, size, cell: stubbedCell(op, size, `profile suite ${suite} stubbed ${size} B`) });
    }
  }
  return cells;
}

/** Runs `op` with crypto.subtle.encrypt/decrypt/sign replaced by stubs that resolve at once with a zeroed buffer of the right size. */
function stubbedCell(op: () => Promise<void>, size: number, label: string) {
  const inner = asyncCell(op, size, label);
  const len = (d: BufferSource): number => d.byteLength;
  const stubs: Record<'encrypt' | 'decrypt' | 'sign', (alg: AlgorithmIdentifier & { name?: string }, key: CryptoKey, data: BufferSource) => Promise<ArrayBuffer>> = {
    // AES-GCM adds a 16-byte tag; AES-CTR keeps the length.
    encrypt: (alg, _key, data) => Promise.resolve(new ArrayBuffer(len(data) + (alg.name === 'AES-GCM' ? 16 : 0))),
    decrypt: (alg, _key, data) => Promise.resolve(new ArrayBuffer(len(data) - (alg.name === 'AES-GCM' ? 16 : 0))),
    sign: () => Promise.resolve(new ArrayBuffer(32)),
  };
  const cell: Cell & { stats: () => CellStats } = {
    ...inner,
    async round(budgetMs, maxSamples, first) {
      const subtle = crypto.subtle as unknown as Record<string, unknown>;
      for (const [name, fn] of Object.entries(stubs)) Object.defineProperty(subtle, name, { value: fn, configurable: true, writable: true });
      try {
        return await inner.round(budgetMs, maxSamples, first);
      } finally {
        // Removing the own properties uncovers SubtleCrypto.prototype's real methods again.
        for (const name of Object.keys(stubs)) delete subtle[name];
      }
    },
  };
  return cell;
}

/** setSendKey + addReceiveKey on fresh stores: the per-KID cost that must stay out of the per-frame path. */
function keySetupCell(suite: CipherSuiteId, repsPerRound: number) {
  const times: number[] = [];
  const cleanTimes: number[] = [];
  const cell: Cell & { stats: () => KeySetup } = {
    label: `key setup suite ${suite}`,
    async round() {
      const mine: number[] = [];
      for (let i = 0; i < repsPerRound; i++) {
        const base = crypto.getRandomValues(new Uint8Array(16));
        const t0 = performance.now();
        await makeStores(suite, base);
        mine.push((performance.now() - t0) * 1000);
      }
      return (clean) => {
        times.push(...mine);
        if (clean) cleanTimes.push(...mine);
      };
    },
    summary() {
      const k = cell.stats();
      return `${cell.label}: p50 ${k.p50.toFixed(0)} µs`;
    },
    stats() {
      const sorted = [...(cleanTimes.length > 0 ? cleanTimes : times)].sort((a, b) => a - b);
      const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
      return { suite, p50: at(0.5), p99: at(0.99), clean: cleanTimes.length > 0 };
    },
  };
  return cell;
}

// ---- gate: the driver may hold a cell until the machine is quiet, and reject a round measured under load ----

let gateSeq = 0;
const gates = new Map<number, (verdict: GateVerdict) => void>();

function gate(kind: 'start' | 'end', label: string): Promise<GateVerdict> {
  const id = ++gateSeq;
  post({ type: 'gate', id, kind, label });
  return new Promise((resolve) => gates.set(id, resolve));
}

async function run(cfg: BenchConfig): Promise<BenchResult> {
  const started = performance.now();
  resolutionUs = measureResolutionUs();
  progress(`worker crossOriginIsolated=${String(scope.crossOriginIsolated)}, performance.now() step ${resolutionUs.toFixed(1)} µs`);

  const suites = Object.values(CIPHER_SUITES) as CipherSuite[];
  const rounds = Math.max(1, Math.round(cfg.rounds));
  const all: Cell[] = [];
  const keyCells = suites.map((suite) => keySetupCell(suite.id, Math.ceil(30 / rounds)));
  all.push(...keyCells);
  const baselineCells = FRAMES.map(({ codec, size }) => {
    const frame = makeFrame(codec, size);
    const copy = copyCell(frame, `copy-only ${codec} ${size} B`);
    const copyPipeline = pipelineCell(() => [copyStage(), copyStage()], frame, `copy-only pipeline ${codec} ${size} B`);
    all.push(copy, copyPipeline);
    return { codec, size, copy, copyPipeline };
  });

  const frameCells: Array<{ suite: CipherSuite; codec: string; size: number; rt: ReturnType<typeof roundTripCell>; pl: ReturnType<typeof pipelineCell> }> = [];
  for (const suite of suites) {
    const baseKey = crypto.getRandomValues(new Uint8Array(16));
    for (const { codec, size } of FRAMES) {
      const frame = makeFrame(codec, size);
      const a = await makeStores(suite.id, baseKey);
      const rt = roundTripCell(a.sender, a.receiver, codec, frame, `suite ${suite.id} ${codec} ${size} B`);
      const b = await makeStores(suite.id, baseKey);
      const pl = pipelineCell(() => [encryptStage(b.sender, codec), decryptStage(b.receiver, codec, OWNER)], frame, `suite ${suite.id} ${codec} ${size} B pipeline`);
      all.push(rt, pl);
      frameCells.push({ suite, codec, size, rt, pl });
    }
  }

  const profile = await profileCells();
  for (const p of profile) all.push(p.cell);

  let retried = 0;
  for (let r = 0; r < rounds; r++) {
    for (const cell of all) {
      const isProfile = profile.some((p) => p.cell === cell);
      const budget = (isProfile ? cfg.profileMs : cfg.cellMs) / rounds;
      for (let attempt = 0; ; attempt++) {
        await gate('start', cell.label);
        const commit = await cell.round(budget, Math.ceil(cfg.maxSamples / rounds), r === 0 && attempt === 0);
        const verdict = await gate('end', cell.label);
        if (verdict.keep) {
          commit(verdict.clean);
          break;
        }
        retried++;
      }
    }
    progress(`round ${r + 1}/${rounds} done at ${((performance.now() - started) / 1000).toFixed(1)} s (${retried} cell rounds re-run so far)`);
  }
  for (const cell of all) progress(cell.summary());

  const baselines: BaselineCell[] = baselineCells.map((b) => ({ codec: b.codec, size: b.size, copy: b.copy.stats(), copyPipeline: b.copyPipeline.stats() }));
  const frames: FrameCell[] = frameCells.map((c) => ({
    suite: c.suite.id,
    suiteName: c.suite.name,
    codec: c.codec,
    size: c.size,
    ...c.rt.stats(),
    pipeline: c.pl.stats(),
  }));
  const profileOut: ProfileCell[] = profile.map((p) => ({ name: p.name, size: p.size, stats: p.cell.stats() }));
  const keySetup: KeySetup[] = keyCells.map((c) => c.stats());

  return {
    userAgent: navigator.userAgent,
    crossOriginIsolated: scope.crossOriginIsolated,
    timerResolutionUs: resolutionUs,
    hardwareConcurrency: navigator.hardwareConcurrency,
    config: cfg,
    frames,
    baselines,
    profile: profileOut,
    keySetup,
    retriedCellRounds: retried,
    elapsedMs: performance.now() - started,
  };
}

scope.onmessage = (ev: MessageEvent<PageToWorker>) => {
  const m = ev.data;
  if (m.type === 'gate-reply') {
    const resolve = gates.get(m.id);
    gates.delete(m.id);
    resolve?.({ keep: m.keep, clean: m.clean });
    return;
  }
  run(m.config).then(
    (result) => post({ type: 'done', result }),
    (e: unknown) => post({ type: 'error', message: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) }),
  );
};
