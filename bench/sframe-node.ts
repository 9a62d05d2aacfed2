// Node throughput of the SFrame media-frame core: encrypt + decrypt of one
// frame per iteration (VP8 delta layout: 3 clear bytes), per suite and size,
// next to a copy-only baseline of the same frame measured in the same run,
// and a bare WebCrypto AES-GCM encrypt+decrypt (the platform floor).
//
//   npx tsx bench/sframe-node.ts            (~25 s)
//   BENCH_MS=300 npx tsx bench/sframe-node.ts   (quick look)
//
// Per-frame times come from process.hrtime; the copy baseline is timed in
// batches of COPY_BATCH because a single 100-byte copy is below timer
// resolution. MB/s counts frame bytes per second of the measured loop.

import { CIPHER_SUITES, createKeyContext, decryptMediaFrame, encryptMediaFrame, type KeyContext } from '../shared/sframe/index.ts';

const SIZES = [100, 10_000, 60_000];
const BUDGET_MS = Number(process.env['BENCH_MS'] ?? 1000);
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

function frameOf(size: number): Uint8Array {
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
  for (let i = 0; i < WARMUP; i++) await once();
  const samples: number[] = [];
  const end = performance.now() + BUDGET_MS;
  while (samples.length < MAX_ITERATIONS && performance.now() < end) {
    const t0 = process.hrtime.bigint();
    await once();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return summarize(samples, frame.length);
}

/** The platform floor: one bare WebCrypto AES-128-GCM encrypt + decrypt, no SFrame around it. */
async function benchRawGcm(frame: Uint8Array): Promise<Stats> {
  const key = await crypto.subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['encrypt', 'decrypt']);
  const iv = new Uint8Array(12);
  const once = async (): Promise<void> => {
    const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, frame as Uint8Array<ArrayBuffer>);
    await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, ct);
  };
  for (let i = 0; i < WARMUP; i++) await once();
  const samples: number[] = [];
  const end = performance.now() + BUDGET_MS;
  while (samples.length < MAX_ITERATIONS && performance.now() < end) {
    const t0 = process.hrtime.bigint();
    await once();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return summarize(samples, frame.length);
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
const cols = ['suite', 'size', 'enc+dec p50 µs', 'p99 µs', 'MB/s', 'copy p50 µs', 'copy p99 µs', 'copy MB/s', 'p50 ratio'];
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
    const copy = copies.get(size) ?? benchCopy(frame);
    rows.push([
      `${suite.id} ${suite.name}`,
      size >= 1000 ? `${size / 1000} KB` : `${size} B`,
      fmt(c.p50),
      fmt(c.p99),
      fmt(c.mbps),
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
console.log(`ratio = enc+dec p50 / copy p50 of the same frame; total ${fmt((performance.now() - started) / 1000)} s`);
