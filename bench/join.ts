// Join latency: time from loading a `&join=1` URL to the first remote video
// frame rendered (requestVideoFrameCallback on the remote tile's <video>,
// relative to the page's navigation start), with one participant already in
// the meeting. E2EE on alternates with the plaintext control
// (`&test=plaintext` on both pages). Both use the test build: the probes read
// its test surface (the production build has none); without `&test=` it runs
// the production code paths.
//
//   npx tsx bench/join.ts [--runs 10] [--on-static dist-test] [--off-static dist-test] [--base-static DIR] [--load N]
//
// The client holds a new video consumer's `resume-consumer` until it has agreed
// keys (E2eeController.whenKeyed), so the keyframe mediasoup requests on resume
// is one the page can decrypt; the summary counts runs where that failed. (The
// bench-side emulation used to measure that fix before it landed is in
// bench/join.ts at babb201, variant 'on+hold'.)

import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../harness/browser.ts';
import { startTestServer } from '../harness/server.ts';
import type { RunningServer } from '../server/app.ts';
import { LoadSampler, fmt, frozenBuild, loadavg, machine, median, percentile, sleep, runBench } from './perf-lib.ts';
import { openProbedPage, probeState, type ProbeState } from '../harness/page-probes.ts';
import { waitForSurface } from '../harness/test-surface.ts';
import { parseCommandLine } from '../harness/cli.ts';
import { linkFragment } from '../harness/meeting-link.ts';
import { LOAD_OPTION, startCpuLoad } from './load.ts';

const { values: opts } = parseCommandLine({
  command: 'npx tsx bench/join.ts',
  summary: 'Join latency: page load to the first remote video frame, E2EE on alternating with the plaintext control.',
  options: {
    runs: { kind: 'number', default: 10, help: 'joins per variant' },
    onStatic: {
      kind: 'string',
      default: 'dist-test',
      arg: 'DIR',
      help: 'client build for E2EE on (a test build: the probes read its test surface)',
    },
    offStatic: { kind: 'string', default: 'dist-test', arg: 'DIR', help: 'client build for the plaintext control (a test build)' },
    baseStatic: {
      kind: 'string',
      arg: 'DIR',
      help: "a third variant, E2EE on with another build (e.g. main's), in the same rotation: a before/after in one run",
    },
    timeout: { kind: 'number', default: 30, help: 'seconds to wait for each step' },
    load: LOAD_OPTION,
  },
});

type Variant = 'on' | 'off' | 'base';

interface Run {
  variant: Variant;
  /** Navigation timing of the joining page (ms since navigation start). */
  nav: { mainScript: number; domContentLoaded: number };
  /** ms from navigation start to the first remote frame presented. */
  firstFrame: number;
  probe: ProbeState;
  loadavg: string;
}

async function hostReady(page: Page, timeoutMs: number): Promise<void> {
  // Keyed (epoch ≥ 1) and sending video.
  await waitForSurface(page, ({ e2ee }) => e2ee.epoch >= 1, null, { polling: 20, timeout: timeoutMs });
  const end = Date.now() + timeoutMs;
  for (;;) {
    const frames = await page.evaluate(async () => {
      let n = 0;
      for (const pc of (window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []) {
        (await pc.getStats()).forEach((r: Record<string, unknown>) => {
          if (r['type'] === 'outbound-rtp' && r['kind'] === 'video') n += Number(r['framesEncoded'] ?? 0);
        });
      }
      return n;
    });
    if (frames > 0) return;
    if (Date.now() > end) throw new Error('host never sent video');
    await sleep(50);
  }
}

async function oneRun(browser: Browser, server: RunningServer, variant: Variant, i: number): Promise<Run> {
  const meeting = `bench-join-${Date.now()}-${i}`;
  const q = variant === 'off' ? '&test=plaintext' : '';
  const url = (n: string): string => `${server.url}/?meeting=${meeting}&name=${n}&join=1${q}${linkFragment(meeting)}`;
  const host = await openProbedPage(browser, url('Host'), 'host');
  const joiner = await openProbedPage(browser, url('Joiner'), 'joiner', { goto: false });
  try {
    await hostReady(host.page, opts.timeout * 1000);
    await sleep(300); // let the host settle after its first frames
    const la = loadavg();
    await joiner.goto();
    await joiner.page.waitForFunction(() => (window as unknown as { __bench: ProbeState }).__bench.frame !== null, undefined, {
      polling: 50,
      timeout: opts.timeout * 1000,
    });
    const probe = await probeState(joiner.page);
    const nav = await joiner.page.evaluate(() => {
      const e = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      const js = performance.getEntriesByType('resource').find((r) => /\/assets\/index-[^/]*\.js$/.test(r.name)) as
        PerformanceResourceTiming | undefined;
      return { mainScript: js?.responseEnd ?? NaN, domContentLoaded: e?.domContentLoadedEventEnd ?? NaN };
    });
    return { variant, firstFrame: probe.frame!.now, probe, nav, loadavg: la };
  } catch (e) {
    console.error([...host.logs, ...joiner.logs].join('\n'));
    throw e;
  } finally {
    await joiner.page.context().close();
    await host.page.context().close();
  }
}

const STEPS: Array<[string, (p: ProbeState, r: Run) => number | undefined]> = [
  ['main script (index-*.js) received', (_, r) => r.nav.mainScript],
  ['DOMContentLoaded (script evaluated)', (_, r) => r.nav.domContentLoaded],
  ['WebSocket open', (p) => p.marks['ws-open']],
  ['join answered', (p) => p.marks['resp:join']],
  ['identity ready (libsodium + identity: the key agent can start)', (p) => p.marks['identity-ready']],
  ['announcement sent (first relay)', (p) => p.marks['send:relay']],
  ["first key-agreement relay received (leader's roster + keys)", (p) => p.marks['notice:relay']],
  ['recv transport created', (p) => p.marks['resp:create-transport']],
  ['consume answered', (p) => p.marks['resp:consume']],
  ['remote tile in DOM', (p) => p.tileAt ?? undefined],
  ['send epoch ≥ 1 (keys agreed)', (p) => p.epochs.find((e) => e.epoch >= 1)?.at],
  ['resume-consumer answered', (p) => p.marks['resp:resume-consumer']],
  ['first own video produced', (p) => p.marks['resp:produce']],
  ['first remote frame presented', (p) => p.frame?.now],
];

async function main(): Promise<void> {
  const onBuild = frozenBuild(opts.onStatic);
  const offBuild = frozenBuild(opts.offStatic);
  const baseBuild = opts.baseStatic === undefined ? undefined : frozenBuild(opts.baseStatic);
  const serve = (dir: string): Promise<RunningServer> => startTestServer(['--static', dir, '--test-mode']);
  const servers: Record<Variant, RunningServer | undefined> = {
    on: await serve(onBuild.path),
    off: await serve(offBuild.path),
    base: baseBuild && (await serve(baseBuild.path)),
  };
  const variants: Variant[] = baseBuild ? ['on', 'off', 'base'] : ['on', 'off'];
  const cpuLoad = startCpuLoad(opts.load);
  const browser = await launchBrowser();
  const load = new LoadSampler();
  const started = Date.now();
  console.log(`# bench/join.ts — ${new Date().toISOString()}`);
  console.log(`machine: ${machine()}`);
  console.log(`extra load: ${cpuLoad.description}`);
  console.log(
    `E2EE on: ${onBuild.label}; off: ${offBuild.label} with &test=plaintext on both pages; ${baseBuild ? `base (E2EE on): ${baseBuild.label}; ` : ''}${opts.runs} runs each, order rotated every round`,
  );
  console.log(`loadavg at start: ${loadavg()}`);
  const runs: Run[] = [];
  try {
    // Warm-up run of each (first Chromium media start-up is slower), not counted.
    for (const [k, v] of variants.entries()) await oneRun(browser, servers[v]!, v, -1 - k);
    for (let i = 0; i < opts.runs; i++) {
      const order = variants.map((_, k) => variants[(k + i) % variants.length]!); // rotate the order each round
      for (const v of order) {
        const r = await oneRun(browser, servers[v]!, v, i);
        runs.push(r);
        console.log(`run ${i + 1} ${v}: first remote frame at ${fmt(r.firstFrame, 0)} ms (loadavg ${r.loadavg})`);
      }
    }
  } finally {
    cpuLoad.stop();
    await browser.close();
    for (const s of Object.values(servers)) await s?.close();
    onBuild.cleanup();
    offBuild.cleanup();
    baseBuild?.cleanup();
  }
  const on = runs.filter((r) => r.variant === 'on').map((r) => r.firstFrame);
  const off = runs.filter((r) => r.variant === 'off').map((r) => r.firstFrame);
  const base = runs.filter((r) => r.variant === 'base').map((r) => r.firstFrame);
  console.log('\n## Navigation start → first remote video frame presented (ms)\n');
  console.log('| | runs | p50 | p90 | min | max |');
  console.log('|---|---|---|---|---|---|');
  const rows: Array<[string, number[]]> = [
    ['E2EE on', on],
    ['off (plaintext)', off],
  ];
  if (baseBuild) rows.push(['base build (E2EE on)', base]);
  for (const [name, v] of rows) {
    console.log(
      `| ${name} | ${v.length} | ${fmt(percentile(v, 50), 0)} | ${fmt(percentile(v, 90), 0)} | ${fmt(Math.min(...v), 0)} | ${fmt(Math.max(...v), 0)} |`,
    );
  }
  console.log(
    `\np50 on − off: ${fmt(percentile(on, 50) - percentile(off, 50), 0)} ms; on/off ${fmt(percentile(on, 50) / percentile(off, 50), 2)}× at p50, ${fmt(percentile(on, 90) / percentile(off, 90), 2)}× at p90; target ≤ 1500 ms p50 → ${percentile(on, 50) <= 1500 ? 'MET' : 'MISSED'}`,
  );
  if (baseBuild)
    console.log(
      `on/base (this build against the base build, both E2EE on): ${fmt(percentile(on, 50) / percentile(base, 50), 2)}× at p50, ${fmt(percentile(on, 90) / percentile(base, 90), 2)}× at p90`,
    );
  console.log('\n## Where the time goes (joining page, median ms since navigation start)\n');
  console.log(`| step | ${variants.join(' | ')} |`);
  console.log(`|---|${variants.map(() => '---|').join('')}`);
  for (const [name, f] of STEPS) {
    const m = (v: Variant): number => median(runs.filter((r) => r.variant === v).map((r) => f(r.probe, r) ?? NaN));
    console.log(`| ${name} | ${variants.map((v) => fmt(m(v), 0)).join(' | ')} |`);
  }
  // The keyframe mediasoup asks for when a consumer resumes is useless if it arrives before the keys.
  const onRuns = runs.filter((r) => r.variant === 'on');
  const keyAt = (r: Run): number => r.probe.epochs.find((e) => e.epoch >= 1)?.at ?? NaN;
  const early = onRuns.filter((r) => (r.probe.marks['resp:resume-consumer'] ?? Infinity) < keyAt(r));
  const late = onRuns.filter((r) => !early.includes(r));
  const gap = (rs: Run[]): string => fmt(median(rs.map((r) => r.firstFrame - keyAt(r))), 0);
  console.log(
    `\nE2EE on: keys agreed → first remote frame, median ${gap(onRuns)} ms; in ${early.length}/${onRuns.length} runs the video consumer was resumed before the keys ` +
      `(its keyframe is dropped as UNKNOWN_KID): gap ${gap(early)} ms, first frame p50 ${fmt(
        percentile(
          early.map((r) => r.firstFrame),
          50,
        ),
        0,
      )} ms; other runs: gap ${gap(late)} ms, first frame p50 ${fmt(
        percentile(
          late.map((r) => r.firstFrame),
          50,
        ),
        0,
      )} ms`,
  );
  console.log(`\nwall time ${fmt((Date.now() - started) / 1000, 0)} s; ${load.stop()}`);
}

runBench(main);
