// Interleaved A/B of the SFrame frame path in a Chromium module worker (issue #15 item 6).
//
// One worker (bench/browser/ab-worker.ts) runs, in random interleaved order,
// `--rounds` rounds of `--frames` frames per cell: the bare AES-128-GCM
// encrypt+decrypt pair (the floor), SFrameKeyStore (suite 4) with each way of
// building the output frame, at 100 B (Opus), 10 KB and 60 KB (VP8 delta); and
// the 10 KB / 60 KB latency through the app's encrypt and decrypt
// TransformStreams against two copy-only ones. Interleaving is what makes the
// variants comparable on a loaded machine: a slow stretch hits all of them.
//
//   npm run bench:sframe-ab                           (~1 min)
//   npm run bench:sframe-ab -- --rounds 200 --frames 30 --json out.json
//   npm run bench:sframe-ab -- --diag      (also each direction alone: where the gap is)
//   npm run bench:sframe-ab -- --report out.json   (the tables again from a saved run)
//   npm run bench:sframe-ab -- --base da44f9a      (store-base: shared/ at that revision; default HEAD)
//
// store-base runs the key store of shared/ as committed at --base (git archive
// into a temporary directory, aliased as 'ab-base-sframe' in the bundle), so
// an uncommitted change to shared/sframe is measured against the code before
// it in the same rounds (×store-base) instead of in a separate run.
//
// Timing: performance.now() in a cross-origin isolated worker (5 µs steps).
// p50/p99 are over single frames, so they move in 5 µs steps; "mean" is the
// median over rounds of each round's mean frame time, and "×bare" the median
// over rounds of (this cell's round mean / the bare pair's at the same size in
// the same round): both resolve well below one timer step.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { build, preview } from 'vite';
import { cpuMark, othersShare } from './browser/load-gate.ts';
import type { AbResult, AbSeries } from './browser/ab-protocol.ts';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '100' },
    frames: { type: 'string', default: '30' },
    json: { type: 'string' },
    diag: { type: 'boolean', default: false },
    report: { type: 'string' },
    sizes: { type: 'string', default: '100,10000,60000' },
    base: { type: 'string', default: 'HEAD' },
  },
});
const ROUNDS = Math.max(1, Number(opts.rounds) || 100);
const FRAMES_PER_CELL = Math.max(1, Number(opts.frames) || 30);
const BROWSER = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const pageDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'browser');
const repoRoot = path.join(pageDir, '..', '..');

/** shared/ as committed at `rev`, in `dir` (with the repo's node_modules linked for its imports); returns its sframe entry. */
function extractBase(rev: string, dir: string): string {
  const tar = execFileSync('git', ['archive', '--format=tar', rev, 'shared'], { cwd: repoRoot, maxBuffer: 256 << 20 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return path.join(dir, 'shared', 'sframe', 'index.ts');
}
/** Cross-origin isolation, for 5 µs performance.now() steps in the worker. */
const ISOLATED = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const quantile = (xs: readonly number[], q: number): number => {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const median = (xs: readonly number[]): number => quantile(xs, 0.5);
const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const sizeName = (n: number): string => (n >= 1000 ? `${n / 1000} KB` : `${n} B`);

function markdown(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const row = (r: string[]): string => `| ${r.map((v, i) => (i < 2 ? v.padEnd(w[i]!) : v.padStart(w[i]!))).join(' | ')} |`;
  return [row(head), `|${w.map((n, i) => (i < 2 ? '-'.repeat(n + 2) : `${'-'.repeat(n + 1)}:`)).join('|')}|`, ...rows.map(row)].join('\n');
}

/** Median over rounds of a / b, round by round. */
function pairedRatio(a: AbSeries, b: AbSeries): number {
  return median(a.roundMeans.map((m, i) => m / (b.roundMeans[i] ?? NaN)));
}

function report(r: AbResult): string {
  const find = (kind: AbSeries['kind'], variant: string, size: number): AbSeries | undefined =>
    r.series.find((s) => s.kind === kind && s.variant === variant && s.size === size);
  /** The paired ratio to the store's copy path: what growing the result changes, round by round. */
  const vsCopy = (s: AbSeries): string => {
    const copy = find(s.kind, 'store-copy', s.size);
    return s.variant.startsWith('store-') && copy ? fmt(pairedRatio(s, copy), 3) : '';
  };
  /** The paired ratio to the --base revision's store: what an uncommitted change to shared/sframe does. */
  const vsBase = (s: AbSeries): string => {
    const js = s.variant.startsWith('js: ');
    const b = find(s.kind, js ? 'js: store-base' : 'store-base', s.size);
    return s.variant.startsWith(js ? 'js: store' : 'store-') && b ? fmt(pairedRatio(s, b), 3) : '';
  };
  const encDec = r.series.filter((s) => s.kind === 'enc+dec');
  const rows = encDec.map((s) => {
    const bare = find('enc+dec', 'bare', s.size)!;
    return [
      s.variant,
      sizeName(s.size),
      fmt(quantile(s.perFrame, 0.5)),
      fmt(quantile(s.perFrame, 0.99)),
      fmt(median(s.roundMeans)),
      fmt(pairedRatio(s, bare), 2),
      fmt(quantile(s.perFrame, 0.5) / quantile(bare.perFrame, 0.5), 2),
      vsCopy(s),
      vsBase(s),
    ];
  });
  const pipes = r.series.filter((s) => s.kind === 'pipeline');
  const pipeRows = pipes.map((s) => {
    const copy = find('pipeline', 'copy-only', s.size)!;
    const p99 = quantile(s.perFrame, 0.99);
    return [
      s.variant,
      sizeName(s.size),
      fmt(quantile(s.perFrame, 0.5)),
      fmt(p99),
      fmt(median(s.roundMeans)),
      fmt(p99 - quantile(copy.perFrame, 0.99)),
      vsCopy(s),
    ];
  });
  return [
    `${r.config.rounds} rounds x ${r.config.frames} timed frames per cell (+${r.warmupFrames} untimed), cells in random order each round; ` +
      `${(r.elapsedMs / 1000).toFixed(1)} s in the worker; crossOriginIsolated=${String(r.crossOriginIsolated)}, transfer=${String(r.transfer)}`,
    '',
    'enc+dec, µs per frame (mean = median of round means; ×bare = median over rounds of round mean / bare round mean;',
    "×bare p50 = p50 / bare p50; ×store-copy, ×store-base = median over rounds of round mean / that cell's round mean;",
    `store-base = shared/sframe at ${r.base ?? '(not recorded)'}):`,
    '',
    markdown(['variant', 'frame', 'p50', 'p99', 'mean', '×bare', '×bare p50', '×store-copy', '×store-base'], rows),
    '',
    'pipeline (encrypt TransformStream -> decrypt TransformStream, one frame in flight), µs; added p99 = p99 - copy-only p99:',
    '',
    markdown(['variant', 'frame', 'p50', 'p99', 'mean', 'added p99', '×store-copy'], pipeRows),
  ].join('\n');
}

async function main(): Promise<void> {
  if (opts.report) {
    console.log(report(JSON.parse(fs.readFileSync(opts.report, 'utf8')) as AbResult));
    return;
  }
  if (!fs.existsSync(BROWSER)) throw new Error(`${BROWSER} is missing: run 'bash scripts/setup-system.sh'`);
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sframe-ab-'));
  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sframe-ab-base-'));
  const baseRev = execFileSync('git', ['rev-parse', '--short', opts.base], { cwd: repoRoot, encoding: 'utf8' }).trim();
  const loads: number[] = [];
  const sampleLoad = (): void => void loads.push(os.loadavg()[0] ?? 0);
  const loadTimer = setInterval(sampleLoad, 5000);
  /** Undone last first, whatever happens. */
  const undo: Array<() => Promise<unknown> | void> = [
    () => clearInterval(loadTimer),
    () => fs.rmSync(outDir, { recursive: true, force: true }),
    () => fs.rmSync(baseDir, { recursive: true, force: true }),
  ];
  try {
    const baseEntry = extractBase(baseRev, baseDir);
    await build({
      root: pageDir,
      base: './',
      configFile: false,
      envDir: false,
      publicDir: false,
      logLevel: 'warn',
      resolve: { alias: { 'ab-base-sframe': baseEntry } },
      build: { outDir, emptyOutDir: true, target: 'es2022', rollupOptions: { input: path.join(pageDir, 'ab.html') } },
      worker: { format: 'es' },
    });
    const server = await preview({
      root: pageDir,
      configFile: false,
      logLevel: 'warn',
      build: { outDir },
      preview: { host: '127.0.0.1', port: 0, headers: ISOLATED },
    });
    undo.push(() => server.close());
    const base = server.resolvedUrls?.local[0];
    if (!base) throw new Error('vite preview has no address');
    const browser = await chromium.launch({
      executablePath: BROWSER,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    undo.push(() => browser.close());
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.text().startsWith('[ab] ') || m.type() === 'error') process.stderr.write(`${m.text()}\n`);
    });
    sampleLoad();
    const mark = cpuMark();
    await page.goto(
      `${base}ab.html?rounds=${ROUNDS}&frames=${FRAMES_PER_CELL}&diag=${opts.diag ? 1 : 0}&sizes=${encodeURIComponent(opts.sizes)}`,
    );
    await page.waitForFunction(
      () => {
        const o = (window as unknown as { __ab?: { result?: unknown; error?: string } }).__ab;
        return o?.result !== undefined || o?.error !== undefined;
      },
      undefined,
      { timeout: 1_800_000, polling: 500 },
    );
    const others = othersShare(mark, cpuMark());
    sampleLoad();
    const outcome = await page.evaluate(() => (window as unknown as { __ab: { result?: AbResult; error?: string } }).__ab);
    if (!outcome.result) throw new Error(`A/B failed in the browser: ${outcome.error ?? 'no result'}`);
    const result = { ...outcome.result, base: baseRev };
    if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ browser: browser.version(), loads, others, ...result }));
    const share = others === undefined ? 'unknown' : `${(others * 100).toFixed(0)}%`;
    console.log(`SFrame interleaved A/B, Chromium ${browser.version()} module worker, ${new Date().toISOString()}`);
    console.log(
      `1-min load ${Math.min(...loads).toFixed(2)}..${Math.max(...loads).toFixed(2)} on ${os.cpus().length} CPUs; other processes used ${share} of the CPU time`,
    );
    console.log(report(result));
  } finally {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch {
        // best effort: the rest is still undone
      }
    }
  }
}

try {
  await main();
} catch (e) {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
}
