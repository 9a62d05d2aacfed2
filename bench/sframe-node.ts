// Node throughput of the SFrame media-frame core: encrypt + decrypt of one
// frame per iteration (VP8 delta layout: 3 clear bytes), per suite and size,
// through the one seal/open (encrypt/decryptMediaFrame) and through the frame
// worker's own encrypt and decrypt stages (FrameCryptor, what ships), next to
// a copy-only baseline of the same frame measured in the same run, and a bare
// WebCrypto AES-GCM encrypt+decrypt (the platform floor).
//
//   npm run bench:sframe-node                  (~45 s)
//   npm run bench:sframe-node -- --ms 300      (quick look; BENCH_MS=300 works too)
//   npm run bench:sframe-node -- --help
//
// Per-frame times come from process.hrtime; the copy baseline is timed in
// batches of COPY_BATCH because a single 100-byte copy is below timer
// resolution. MB/s counts frame bytes per second of the measured loop.

import { parseArgs } from 'node:util';
import { WorkerKeys } from '../client/src/e2ee/worker/keys.ts';
import { FrameCryptor, type EncodedFrame } from '../client/src/e2ee/worker/pipeline.ts';
import { FrameStats } from '../client/src/e2ee/worker/stats.ts';
import {
  CIPHER_SUITES,
  createKeyContext,
  decryptMediaFrame,
  encryptMediaFrame,
  type CipherSuite,
  type KeyContext,
} from '../shared/sframe/index.ts';

const USAGE = `usage: npm run bench:sframe-node -- [--ms N]

SFrame encrypt+decrypt per frame in Node, per cipher suite and frame size
(100 B, 10 KB, 60 KB), against a copy-only baseline and bare AES-GCM.

options:
  --ms N       measuring budget per cell in ms (default: BENCH_MS or 1000)
  -h, --help   print this and exit`;

/** The measuring budget per cell; exits 0 after --help, 2 with a one-line error on a bad option. */
function budgetMs(): number {
  let values: { ms?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { ms: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    console.error(`sframe-node: ${(e instanceof Error ? e.message : String(e)).split(/\.\s/)[0]} (see --help)`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const ms = Number(values.ms ?? process.env['BENCH_MS'] ?? 1000);
  if (!Number.isFinite(ms) || ms <= 0) {
    console.error(`sframe-node: --ms must be a positive number of milliseconds, got ${values.ms ?? process.env['BENCH_MS']} (see --help)`);
    process.exit(2);
  }
  return ms;
}

const SIZES = [100, 10_000, 60_000];
const BUDGET_MS = budgetMs();
const MAX_ITERATIONS = 20_000;
const WARMUP = 200;
const COPY_BATCH = 64;

interface Stats {
  p50: number;
  p99: number;
  mbps: number;
}

function summarize(samplesUs: number[], bytesPerSample: number): Stats {
  const sorted = [...samplesUs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const totalUs = samplesUs.reduce((a, b) => a + b, 0);
  return { p50: at(0.5), p99: at(0.99), mbps: (bytesPerSample * samplesUs.length) / totalUs };
}

/** Warm-up, then one sample per call until the budget or the sample cap runs out. */
async function measure(once: () => Promise<void>, bytesPerCall: number): Promise<Stats> {
  for (let i = 0; i < WARMUP; i++) await once();
  const samples: number[] = [];
  const end = performance.now() + BUDGET_MS;
  while (samples.length < MAX_ITERATIONS && performance.now() < end) {
    const t0 = process.hrtime.bigint();
    await once();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return summarize(samples, bytesPerCall);
}

function frameOf(size: number): Uint8Array<ArrayBuffer> {
  const f = new Uint8Array(size);
  crypto.getRandomValues(f.subarray(0, Math.min(size, 65536)));
  f[0] = 0x11; // VP8 interframe: 3 clear bytes
  return f;
}

async function benchCrypto(ctx: KeyContext, frame: Uint8Array): Promise<Stats> {
  const keyFor = () => ctx;
  let ctr = 0n;
  const once = async (): Promise<void> => {
    const wire = await encryptMediaFrame(ctx, ctr++, 'vp8', frame);
    if (!wire.ok) throw new Error(wire.error.message);
    const back = await decryptMediaFrame(keyFor, 'vp8', wire.value);
    if (!back.ok || back.value.data.length !== frame.length) throw new Error('round trip failed');
  };
  return measure(once, frame.length);
}

/** The same frame through the frame worker's encrypt and decrypt stages (WorkerKeys + FrameCryptor), as a call runs it. */
async function benchStages(suite: CipherSuite, frame: Uint8Array<ArrayBuffer>): Promise<Stats> {
  const key = new Uint8Array(16).fill(7);
  const sender = new WorkerKeys({ suite: suite.id });
  const receiver = new WorkerKeys({ suite: suite.id });
  await sender.setSendKey(0x123n, key);
  await receiver.addReceiveKey(0x123n, 'sender', key);
  const options = { kind: 'video', codec: 'vp8', source: 'camera', transformId: 't' } as const;
  const deps = (keys: WorkerKeys) => ({ keys, stats: new FrameStats(), requestKeyFrame: () => {} });
  const encrypt = new FrameCryptor({ ...options, operation: 'encrypt', participantId: 'self' }, deps(sender));
  const decrypt = new FrameCryptor({ ...options, operation: 'decrypt', participantId: 'sender' }, deps(receiver));
  let passed: EncodedFrame | undefined;
  const out = { enqueue: (f: EncodedFrame) => void (passed = f) };
  const once = async (): Promise<void> => {
    const e = await encrypt.encryptFrame({ data: frame.buffer, type: 'delta' }, out);
    if (!e.ok || !passed) throw new Error(`encrypt stage dropped the frame: ${e.ok ? 'no output' : e.code}`);
    const d = await decrypt.decryptFrame(passed, out);
    if (!d.ok || passed.data.byteLength !== frame.length) throw new Error(`decrypt stage dropped the frame: ${d.ok ? 'length' : d.code}`);
  };
  return measure(once, frame.length);
}

/** The platform floor: one bare WebCrypto AES-128-GCM encrypt + decrypt, no SFrame around it. */
async function benchRawGcm(frame: Uint8Array): Promise<Stats> {
  const key = await crypto.subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['encrypt', 'decrypt']);
  const iv = new Uint8Array(12);
  const once = async (): Promise<void> => {
    const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, frame as Uint8Array<ArrayBuffer>);
    await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, ct);
  };
  return measure(once, frame.length);
}

function benchCopy(frame: Uint8Array): Stats {
  let sink = 0;
  const batch = (): void => {
    for (let i = 0; i < COPY_BATCH; i++) sink ^= new Uint8Array(frame)[i & 1] ?? 0;
  };
  for (let i = 0; i < WARMUP; i++) batch();
  const samples: number[] = [];
  const end = performance.now() + Math.min(BUDGET_MS, 300);
  while (samples.length < MAX_ITERATIONS && performance.now() < end) {
    const t0 = process.hrtime.bigint();
    batch();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000 / COPY_BATCH);
  }
  if (sink === 0x1234) console.log(''); // keep the copies observable
  return summarize(samples, frame.length);
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);
const cols = ['suite', 'size', 'enc+dec p50 µs', 'p99 µs', 'MB/s', 'stages p50 µs', 'stages p99 µs'];
cols.push('copy p50 µs', 'copy p99 µs', 'copy MB/s', 'p50 ratio');
const rows: string[][] = [];

const started = performance.now();
const copies = new Map<number, Stats>();
for (const size of SIZES) copies.set(size, benchCopy(frameOf(size)));

for (const suite of Object.values(CIPHER_SUITES)) {
  const ctx = await createKeyContext(suite, 0x123n, new Uint8Array(16).fill(7));
  if (!ctx.ok) throw new Error(ctx.error.message);
  for (const size of SIZES) {
    const frame = frameOf(size);
    const c = await benchCrypto(ctx.value, frame);
    const st = await benchStages(suite, frame);
    const copy = copies.get(size) ?? benchCopy(frame);
    rows.push([
      `${suite.id} ${suite.name}`,
      size >= 1000 ? `${size / 1000} KB` : `${size} B`,
      fmt(c.p50),
      fmt(c.p99),
      fmt(c.mbps),
      fmt(st.p50),
      fmt(st.p99),
      fmt(copy.p50, 3),
      fmt(copy.p99, 3),
      fmt(copy.mbps, 0),
      `${fmt(c.p50 / copy.p50, 0)}x`,
    ]);
  }
}

for (const size of SIZES) {
  const frame = frameOf(size);
  const c = await benchRawGcm(frame);
  const copy = copies.get(size) ?? benchCopy(frame);
  rows.push([
    'bare WebCrypto AES-GCM (floor)',
    size >= 1000 ? `${size / 1000} KB` : `${size} B`,
    fmt(c.p50),
    fmt(c.p99),
    fmt(c.mbps),
    '-',
    '-',
    fmt(copy.p50, 3),
    fmt(copy.p99, 3),
    fmt(copy.mbps, 0),
    `${fmt(c.p50 / copy.p50, 0)}x`,
  ]);
}

const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (r: string[]) => r.map((v, i) => (i < 2 ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0))).join('  ');
console.log(`SFrame media frame encrypt+decrypt on Node ${process.version} (WebCrypto), ${BUDGET_MS} ms per cell`);
console.log(line(cols));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
console.log("enc+dec = encryptMediaFrame + decryptMediaFrame (the one seal/open); stages = the frame worker's encrypt and decrypt");
console.log('stages (FrameCryptor over WorkerKeys: key store, replay window, sender check, counters), one frame each.');
console.log(`ratio = enc+dec p50 / copy p50 of the same frame; total ${fmt((performance.now() - started) / 1000)} s`);
