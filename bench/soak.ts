// A long meeting (issue #13, item 6): two steady participants stay the whole
// time while others come and go, one join or leave every --interval seconds
// (the meeting stays between 2 and --max pages). The server is its own process
// (test mode, one worker, the server's tap on unless --no-tap), so its memory
// is its own. Every --sample seconds:
//   - the JS heap of each steady page after a forced GC (CDP
//     HeapProfiler.collectGarbage, then Performance.getMetrics JSHeapUsedSize);
//   - VmRSS of the server process, of its mediasoup worker(s), and the sum over
//     the browser's processes (shared pages counted in each);
//   - the server's live mediasoup objects (test mode's /test/media-counts).
// Reported: each memory series' least-squares slope per hour (over the samples
// with the most common number of participants); the mediasoup
// counts after everyone has left against the empty server's; frames every page
// dropped for key reasons (NO_KEY, UNKNOWN_KID; KID_CONFLICT errors and console
// lines), expected 0; the longest time each receiver's decoded video from one
// sender did not grow (polled in the page every 250 ms, counted from the
// track's first decoded frame; harness/page-probes.ts DECODE_GAPS); and, with
// the tap, the fault invariants over everything it captured (only SFrame
// frames, no (KID, CTR) twice). A table, then the whole result as JSON.
//
//   npm run bench:soak -- [--minutes 20] [--interval 15] [--max 4] [--sample 30]

import fs from 'node:fs';
import type { CDPSession, Page } from 'playwright-core';
import { cameraOverride, closePages, launchBrowser, openParticipant, tmpDir } from '../harness/browser.ts';
import { parseCommandLine } from '../harness/cli.ts';
import { e2eeSnapshot, type E2eeSnapshot } from '../harness/e2ee-page.ts';
import { checkTapFrames } from '../harness/fault-invariants.ts';
import { waitDecoding, waitRejoined } from '../harness/fault-pages.ts';
import { linkFragment } from '../harness/meeting-link.ts';
import { DECODE_GAPS, decodeGaps, type DecodeGap } from '../harness/page-probes.ts';
import { readSurface } from '../harness/test-surface.ts';
import type { MediaCounts } from '../server/media-counts.ts';
import { MEDIA_COUNTS_PATH } from '../server/media-counts.ts';
import { descendants, fmt, frozenBuild, isMediasoupWorker, LoadSampler, loadavg, machine, runBench, sleep, slope } from './perf-lib.ts';
import { startServerProcess, stopProcess } from './server-process.ts';

const { values: opts } = parseCommandLine({
  command: 'npm run bench:soak --',
  summary:
    'A long meeting with churn: memory slopes of browser pages, server and mediasoup worker, mediasoup objects after everyone leaves, key drops and the longest decode gap.',
  options: {
    minutes: { kind: 'number', default: 20, help: 'length of the meeting' },
    interval: { kind: 'number', default: 15, help: 'seconds between joins and leaves' },
    max: { kind: 'number', default: 4, help: 'most participants at once (2 steady + churn)' },
    sample: { kind: 'number', default: 30, help: 'seconds between memory samples' },
    port: { kind: 'number', default: 3927, help: 'port of the server under test (loopback)' },
    noTap: { kind: 'boolean', help: 'run the server without its tap (no frame invariants at the end)' },
  },
});
if (opts.max < 3) throw new Error('--max must be at least 3 (2 steady participants and one that comes and goes)');

const KEY_DROPS = ['NO_KEY', 'UNKNOWN_KID'] as const;
/** A guest is "in" this long after its page opened: keyed, and the others switched to the epoch that keyed it. */
const JOIN_SETTLE_MS = 10_000;

interface Party {
  label: string;
  page: Page;
  logs: string[];
  id?: string;
}

interface Sample {
  t: number;
  participants: number;
  heapMB: number[];
  serverRssMB: number;
  workerRssMB: number;
  browserRssMB: number;
  counts: MediaCounts | undefined;
  load1: number;
}

/** What one receiver saw over its stay. */
interface ReceiverResult {
  label: string;
  /** Dropped for key reasons once it was in (JOIN_SETTLE_MS after it opened; the steady two: from the start). */
  keyDrops: number;
  /**
   * Dropped for key reasons while it joined: frames the others still sent under the epoch before the one
   * that keyed it (bench:rotation counts the same per join). It never holds that epoch's key, by design.
   */
  joinDrops: number;
  dropsByReason: Record<string, number>;
  kidConflicts: number;
  /** Longest decode gap per sender label, ms. */
  maxGapMs: Record<string, number>;
}

function rssMB(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function mediaCounts(): Promise<MediaCounts | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${opts.port}${MEDIA_COUNTS_PATH}`);
    return r.ok ? ((await r.json()) as MediaCounts) : undefined;
  } catch {
    return undefined;
  }
}

const sameCounts = (a: MediaCounts | undefined, b: MediaCounts | undefined): boolean =>
  !!a && !!b && JSON.stringify(a) === JSON.stringify(b);

async function heapMB(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  return (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN) / 2 ** 20;
}

const participantId = (page: Page): Promise<string> => readSurface(page, ({ meeting }) => meeting.join?.participantId ?? '');

/** Camera track id → sender participant id, for the tracks the page holds now. */
const cameraTracks = (page: Page): Promise<Record<string, string>> =>
  readSurface(page, ({ meeting }) => {
    const out: Record<string, string> = {};
    for (const [id, p] of meeting.participants) {
      const t = p.tracks.camera?.track.id;
      if (t) out[t] = id;
    }
    return out;
  });

async function main(): Promise<void> {
  const build = frozenBuild('dist-test');
  const tapDir = opts.noTap ? undefined : tmpDir('soak-tap-');
  console.log(
    `bench:soak on ${machine()}, load ${loadavg()}, client ${build.label}: ${opts.minutes} min, a join or leave every ${opts.interval} s, 2..${opts.max} participants${tapDir ? ', tap on' : ''}`,
  );
  const server = await startServerProcess({ port: opts.port, staticDir: build.path, extraArgs: tapDir ? ['--tap', tapDir] : [] });
  const baseline = await mediaCounts();
  if (!baseline) throw new Error(`the server does not answer ${MEDIA_COUNTS_PATH} (test mode only)`);
  const browser = await launchBrowser();
  const load = new LoadSampler();
  const meeting = `soak-${Date.now()}`;
  const url = (n: string) => `http://localhost:${opts.port}/?meeting=${meeting}&name=${n}&join=1${linkFragment(meeting)}`;
  const init = { initScripts: [cameraOverride('320x180@15'), DECODE_GAPS] };
  const open = async (label: string): Promise<Party> => ({ label, ...(await openParticipant(browser, url(label), label, init)) });

  const labels = new Map<string, string>(); // participant id → label
  const trackSender = new Map<string, string>(); // camera track id → participant id, as pages saw them
  const steady = [await open('Alice'), await open('Bob')];
  const churn: Party[] = [];
  const receivers: ReceiverResult[] = [];
  const samples: Sample[] = [];
  let joins = 0;
  let leaves = 0;

  const learn = async (p: Party): Promise<void> => {
    p.id ||= await participantId(p.page).catch(() => '');
    if (p.id) labels.set(p.id, p.label);
    for (const [t, id] of Object.entries(await cameraTracks(p.page).catch(() => ({})))) trackSender.set(t, id);
  };

  /** Frames a page's worker dropped, by reason, summed over its senders. */
  const dropsIn = (snap: E2eeSnapshot | undefined): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of Object.values(snap?.received ?? {}))
      for (const [reason, n] of Object.entries(r.dropped)) out[reason] = (out[reason] ?? 0) + n;
    return out;
  };
  const snapshotOf = (p: Party): Promise<E2eeSnapshot | undefined> => e2eeSnapshot(p.page).catch(() => undefined);
  const dropsOf = async (p: Party): Promise<Record<string, number>> => dropsIn(await snapshotOf(p));
  const keyDropsIn = (d: Record<string, number>): number => KEY_DROPS.reduce((a, k) => a + (d[k] ?? 0), 0);
  /** Each receiver's drops when it was in: those before are join drops. */
  const settled = new Map<Party, Record<string, number>>();
  const openedAt = new Map<Party, number>();
  const settle = async (): Promise<void> => {
    for (const p of [...steady, ...churn])
      if (!settled.has(p) && Date.now() - (openedAt.get(p) ?? 0) >= JOIN_SETTLE_MS) settled.set(p, await dropsOf(p));
  };

  /** A receiver's key drops and decode gaps so far (read before it leaves, and at the end). */
  const receiverResult = async (p: Party): Promise<ReceiverResult> => {
    await learn(p);
    const snap = await snapshotOf(p);
    const dropsByReason = dropsIn(snap);
    const atSettle = settled.get(p) ?? dropsByReason;
    const gaps: Record<string, DecodeGap> = await decodeGaps(p.page).catch(() => ({}));
    const maxGapMs: Record<string, number> = {};
    for (const [track, g] of Object.entries(gaps)) {
      const sender = labels.get(trackSender.get(track) ?? '') ?? `track ${track.slice(0, 8)}`;
      maxGapMs[sender] = Math.max(maxGapMs[sender] ?? 0, g.maxGap);
    }
    return {
      label: p.label,
      keyDrops: keyDropsIn(dropsByReason) - keyDropsIn(atSettle),
      joinDrops: keyDropsIn(atSettle),
      dropsByReason,
      kidConflicts:
        (snap?.errors.filter((e) => e === 'KID_CONFLICT').length ?? 0) + p.logs.filter((l) => l.includes('KID_CONFLICT')).length,
      maxGapMs,
    };
  };

  const cdps = new Map<Party, CDPSession>();
  const sample = async (t0: number): Promise<void> => {
    for (const p of [...steady, ...churn]) await learn(p);
    const heap: number[] = [];
    for (const p of steady) {
      let cdp = cdps.get(p);
      if (!cdp) {
        cdp = await p.page.context().newCDPSession(p.page);
        await cdp.send('Performance.enable');
        cdps.set(p, cdp);
      }
      heap.push(await heapMB(cdp));
    }
    const tree = descendants(server.child.pid);
    const browserPids = descendants().filter((p) => /chrom/i.test(p.comm));
    const s: Sample = {
      t: (Date.now() - t0) / 1000,
      participants: steady.length + churn.length,
      heapMB: heap,
      serverRssMB: rssMB(server.child.pid),
      workerRssMB: tree.filter(isMediasoupWorker).reduce((a, p) => a + rssMB(p.pid), 0),
      browserRssMB: browserPids.reduce((a, p) => a + (rssMB(p.pid) || 0), 0),
      counts: await mediaCounts(),
      load1: Number(loadavg().split(' ')[0]),
    };
    samples.push(s);
    const c = s.counts;
    console.log(
      `${fmt(s.t / 60, 1).padStart(5)} min  ${s.participants} in  heap ${heap.map((h) => fmt(h, 1)).join('/')} MB  server ${fmt(s.serverRssMB, 0)} MB  worker ${fmt(s.workerRssMB, 0)} MB  browser ${fmt(s.browserRssMB, 0)} MB  ` +
        `routers ${c?.routers ?? '?'} transports ${c?.transports ?? '?'} producers ${c?.producers ?? '?'} consumers ${c?.consumers ?? '?'}  load ${fmt(s.load1, 2)}`,
    );
  };

  const leave = async (p: Party, byButton: boolean): Promise<void> => {
    receivers.push(await receiverResult(p));
    // Half leave with the Leave button, half just close the tab (the server sees the socket close).
    if (byButton) await p.page.click('[data-testid=leave]', { timeout: 5000 }).catch(() => {});
    await closePages([p]);
    leaves++;
  };

  let countsAfter: MediaCounts | undefined;
  let tapCheck: ReturnType<typeof checkTapFrames> | undefined;
  let t0 = 0;
  try {
    const [a, b] = [await waitRejoined(steady[0]!.page, 2, undefined, 60_000), await waitRejoined(steady[1]!.page, 2, undefined, 60_000)];
    await waitDecoding(steady[0]!.page, b, 15, 30_000);
    await waitDecoding(steady[1]!.page, a, 15, 30_000);
    for (const p of steady) settled.set(p, await dropsOf(p));
    t0 = Date.now();
    const end = t0 + opts.minutes * 60_000;
    let nextSample = t0;
    let nextChurn = t0 + opts.interval * 1000;
    let up = true;
    while (Date.now() < end) {
      if (Date.now() >= nextSample) {
        await sample(t0);
        nextSample += opts.sample * 1000;
      }
      if (Date.now() >= nextChurn && Date.now() < end) {
        if (churn.length === 0) up = true;
        if (steady.length + churn.length >= opts.max) up = false;
        if (up) {
          const guest = await open(`Guest${++joins}`);
          openedAt.set(guest, Date.now());
          churn.push(guest);
        } else {
          await leave(churn.shift()!, leaves % 2 === 0);
        }
        nextChurn += opts.interval * 1000;
      }
      await settle();
      await sleep(Math.max(0, Math.min(nextSample, nextChurn, end, Date.now() + 1000) - Date.now()));
    }
    await sample(t0);
    // Everyone leaves: the guests, then the steady two.
    while (churn.length) await leave(churn.shift()!, leaves % 2 === 0);
    for (const p of steady) receivers.push(await receiverResult(p));
    for (const p of steady) await p.page.click('[data-testid=leave]', { timeout: 5000 }).catch(() => {});
    await closePages(steady);
    const deadline = Date.now() + 20_000;
    do {
      await sleep(500);
      countsAfter = await mediaCounts();
    } while (!sameCounts(countsAfter, baseline) && Date.now() < deadline);
  } finally {
    await closePages([...steady, ...churn]);
    await browser.close();
    await stopProcess(server.child, 'SIGTERM');
    build.cleanup();
  }
  const loadLine = load.stop();
  if (tapDir) {
    tapCheck = checkTapFrames(tapDir);
    fs.rmSync(tapDir, { recursive: true, force: true });
  }

  // Slopes over the samples taken with the most common number of people in the
  // meeting, so the first sample (the steady two alone) does not pass for growth.
  const inCount = new Map<number, number>();
  for (const s of samples) inCount.set(s.participants, (inCount.get(s.participants) ?? 0) + 1);
  const modal = [...inCount].sort((a, b) => b[1] - a[1])[0]?.[0];
  const sloped = samples.filter((s) => s.participants === modal);
  const perHour = (y: (s: Sample) => number) => slope(sloped.map((s) => [s.t / 3600, y(s)] as const));
  const slopes = {
    heapMBPerHour: Object.fromEntries(steady.map((p, i) => [p.label, perHour((s) => s.heapMB[i]!)])),
    serverRssMBPerHour: perHour((s) => s.serverRssMB),
    workerRssMBPerHour: perHour((s) => s.workerRssMB),
    browserRssMBPerHour: perHour((s) => s.browserRssMB),
  };
  const steadyGaps = receivers.filter((r) => steady.some((p) => p.label === r.label));
  const result = {
    command: `npm run bench:soak -- --minutes ${opts.minutes} --interval ${opts.interval} --max ${opts.max} --sample ${opts.sample}${opts.noTap ? ' --no-tap' : ''}`,
    machine: machine(),
    load: loadLine,
    minutes: (samples.at(-1)?.t ?? 0) / 60,
    joins,
    leaves,
    slopes,
    slopesOver: `${sloped.length} of ${samples.length} samples, those with ${modal} participants`,
    first: samples[0],
    last: samples.at(-1),
    mediasoup: { baseline, afterEveryoneLeft: countsAfter, backToBaseline: sameCounts(countsAfter, baseline) },
    keyDrops: receivers.reduce((a, r) => a + r.keyDrops, 0),
    joinDrops: receivers.reduce((a, r) => a + r.joinDrops, 0),
    kidConflicts: receivers.reduce((a, r) => a + r.kidConflicts, 0),
    receivers,
    tap: tapCheck && { instances: tapCheck.instances, producers: tapCheck.producers, frames: tapCheck.frames, problems: tapCheck.problems },
    samples,
  };

  console.log(`\n${loadLine}`);
  console.log(`\nmemory series                     first MB    last MB   slope MB/h (${result.slopesOver})`);
  const row = (name: string, y: (s: Sample) => number, sl: number): void =>
    console.log(
      `${name.padEnd(32)} ${fmt(samples[0] ? y(samples[0]) : NaN, 1).padStart(9)} ${fmt(samples.at(-1) ? y(samples.at(-1)!) : NaN, 1).padStart(10)} ${fmt(sl, 1).padStart(12)}`,
    );
  steady.forEach((p, i) => row(`JS heap, ${p.label}'s page (after GC)`, (s) => s.heapMB[i]!, slopes.heapMBPerHour[p.label]!));
  row('server process RSS', (s) => s.serverRssMB, slopes.serverRssMBPerHour);
  row('mediasoup worker RSS', (s) => s.workerRssMB, slopes.workerRssMBPerHour);
  row('browser processes RSS (sum)', (s) => s.browserRssMB, slopes.browserRssMBPerHour);
  console.log(
    `\nmediasoup objects: empty server ${JSON.stringify(baseline)}, after everyone left ${JSON.stringify(countsAfter)}: ${result.mediasoup.backToBaseline ? 'back to baseline' : 'NOT back to baseline'}`,
  );
  console.log(
    `joins ${joins}, leaves ${leaves}; frames dropped for key reasons once in: ${result.keyDrops} (while joining, under the epoch before theirs: ${result.joinDrops}); KID_CONFLICT: ${result.kidConflicts}`,
  );
  console.log('\nreceiver   stayed   longest decode gap per sender (s)');
  for (const r of steadyGaps)
    console.log(
      `${r.label.padEnd(10)} all      ${Object.entries(r.maxGapMs)
        .map(([s, ms]) => `${s} ${fmt(ms / 1000, 2)}`)
        .join(', ')}`,
    );
  const churnGaps = receivers.filter((r) => !steadyGaps.includes(r)).flatMap((r) => Object.values(r.maxGapMs));
  console.log(`guests     a while  longest over ${churnGaps.length} tracks: ${fmt(Math.max(0, ...churnGaps) / 1000, 2)}`);
  if (tapCheck)
    console.log(
      `tap: ${tapCheck.instances} instances, ${tapCheck.producers} producers, ${tapCheck.frames} frames; problems: ${tapCheck.problems.length ? tapCheck.problems.join('; ') : 'none'}`,
    );
  console.log(`\n${JSON.stringify(result, null, 1)}`);
}

runBench(main);
