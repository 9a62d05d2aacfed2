// Three-participant call in headless Chromium: CPU and bandwidth with E2EE on
// vs the test build's plaintext control switch (`&test=plaintext`), alternated
// in one run (on, off, on, off, ...).
//
//   npx tsx bench/call.ts [--seconds 30] [--rounds 2] [--warmup 5] [--video-kbps 1500] [--low-kbps 300] [--low-seconds 6] [--video noise|fake|FILE.y4m] [--camera 640x360@30] [--load N]
//
// Each run: a fresh browser with three pages in a new meeting on one in-process
// server (dist-test build); wait until every page decodes both remote videos;
// cap every page's video sender at --video-kbps; warm up; then for --seconds
// measure CPU seconds of the Chromium process tree and of the server (this
// Node process plus the mediasoup worker) from /proc, and bytes sent (outbound-rtp
// from getStats). A second, shorter window at --low-kbps measures bytes only.
// Node does nothing but sleep during a window, so its CPU is the server's.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { headerLength } from '../shared/sframe/header.ts';
import { CIPHER_SUITES, DEFAULT_SUITE } from '../shared/sframe/suites.ts';
import { AUDIO_SUITE } from '../shared/e2ee/audio-key.ts';
import { launchBrowser } from '../harness/browser.ts';
import { startTestServer } from '../harness/server.ts';
import {
  LoadSampler,
  cpuBetween,
  fmt,
  frozenBuild,
  isMediasoupWorker,
  loadavg,
  machine,
  median,
  pct,
  runBench,
  selfCpu,
  sleep,
  snapshotTree,
  threadCpuByName,
  threadSnapshot,
  type ProcInfo,
} from './perf-lib.ts';
import { openProbedPage, waitJoined } from '../harness/page-probes.ts';
import { readSurface } from '../harness/test-surface.ts';
import { parseCommandLine } from '../harness/cli.ts';
import { linkFragment } from '../harness/meeting-link.ts';
import { LOAD_OPTION, startCpuLoad } from './load.ts';

const { values: opts } = parseCommandLine({
  command: 'npx tsx bench/call.ts',
  summary: 'Three-participant call: browser and server CPU and bandwidth with E2EE on vs the plaintext control, alternated.',
  options: {
    seconds: { kind: 'number', default: 30, help: 'length of each measured window, s' },
    rounds: { kind: 'number', default: 2, help: 'rounds of (on, off)' },
    warmup: { kind: 'number', default: 5, help: 'unmeasured seconds before each window' },
    videoKbps: { kind: 'number', default: 1500, help: "cap on every page's video sender in the main window, kbps" },
    lowKbps: { kind: 'number', default: 300, help: 'the cap in the second (bytes-only) window, kbps' },
    lowSeconds: { kind: 'number', default: 6, help: 'length of the second window, s' },
    static: {
      kind: 'string',
      default: 'dist-test',
      arg: 'DIR',
      help: 'client build to serve (the test build: the bench reads its test surface)',
    },
    video: { kind: 'string', default: 'noise', arg: 'noise|fake|FILE.y4m', help: 'what the fake camera shows' },
    load: LOAD_OPTION,
    camera: { kind: 'string', default: '640x360@30', arg: 'WxH@FPS', help: 'capture size and rate' },
  },
});

/**
 * Chromium's built-in fake camera is a flat animation that VP8 codes in ~100-150 kbps,
 * so bitrate caps never bind. `--video noise` (default) feeds a 640x360 30 fps test
 * pattern with temporal noise (ffmpeg-generated y4m, cached in the temp dir) that
 * fills any cap; `--video fake` keeps the built-in one.
 */
function cameraArgs(): string[] {
  if (opts.video === 'fake') return [];
  const [, w, h, fps] = /^(\d+)x(\d+)@(\d+)$/.exec(opts.camera) ?? [];
  if (!w || !h || !fps) throw new Error(`--camera must look like 640x360@30`);
  const file = opts.video === 'noise' ? path.join(os.tmpdir(), `bench-call-${w}x${h}-${fps}-noise.y4m`) : path.resolve(opts.video);
  if (opts.video === 'noise' && !fs.existsSync(file)) {
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${w}x${h}:rate=${fps},noise=alls=12:allf=t`,
      '-t',
      '4',
      '-pix_fmt',
      'yuv420p',
      `${file}.tmp.y4m`,
    ]);
    fs.renameSync(`${file}.tmp.y4m`, file);
  }
  return [`--use-file-for-fake-video-capture=${file}`];
}
const TAG_BYTES = CIPHER_SUITES[DEFAULT_SUITE].nt; // AES_128_GCM_SHA256_128: camera and screen share
/** The microphone's format (docs/protocol.md §7.3a): a compact KID (0-7) and AES_128_CTR_HMAC_SHA256_64. */
const AUDIO_TAG_BYTES = CIPHER_SUITES[AUDIO_SUITE].nt;
const A_COMPACT_KID = 1n; // every compact KID takes the same header bytes

interface PageSample {
  t: number; // stats timestamp, ms
  videoRtxBytes: number;
  frameHeight: number;
  limited: string;
  videoBytes: number;
  videoHeaderBytes: number;
  videoPackets: number;
  videoFrames: number;
  audioBytes: number;
  audioPackets: number;
  framesDecoded: number;
  /** outbound-rtp totalEncodeTime (s, includes what WebRTC counts of the encode path) and the time spent limited. */
  encodeSeconds: number;
  cpuLimitedSeconds: number;
  bandwidthLimitedSeconds: number;
  /** The send transport's bandwidth estimate (candidate-pair availableOutgoingBitrate, bps; 0 if none). */
  outgoingEstimateBps: number;
  encrypted: number;
  kid: string | undefined;
}

/** Outbound RTP of this page's senders, inbound decoded video, and the frame worker's send counters. */
function samplePage(page: Page): Promise<PageSample> {
  return readSurface(page, async ({ e2ee }) => {
    const w = window as unknown as { __pcs?: RTCPeerConnection[] };
    const s = {
      t: 0,
      videoRtxBytes: 0,
      frameHeight: 0,
      limited: '',
      videoBytes: 0,
      videoHeaderBytes: 0,
      videoPackets: 0,
      videoFrames: 0,
      audioBytes: 0,
      audioPackets: 0,
      framesDecoded: 0,
      encodeSeconds: 0,
      cpuLimitedSeconds: 0,
      bandwidthLimitedSeconds: 0,
      outgoingEstimateBps: 0,
    };
    for (const pc of w.__pcs ?? []) {
      if (pc.connectionState === 'closed') continue;
      const report = await pc.getStats();
      report.forEach((r: Record<string, number | string | undefined>) => {
        if (r['type'] === 'outbound-rtp') {
          s.t = Math.max(s.t, Number(r['timestamp'] ?? 0));
          if (r['kind'] === 'video') {
            // bytesSent counts retransmissions too; they depend on loss, not on E2EE.
            s.videoBytes += Number(r['bytesSent'] ?? 0) - Number(r['retransmittedBytesSent'] ?? 0);
            s.videoRtxBytes += Number(r['retransmittedBytesSent'] ?? 0);
            s.frameHeight = Math.max(s.frameHeight, Number(r['frameHeight'] ?? 0));
            if (r['qualityLimitationReason'] && r['qualityLimitationReason'] !== 'none') s.limited = String(r['qualityLimitationReason']);
            s.videoHeaderBytes += Number(r['headerBytesSent'] ?? 0);
            s.videoPackets += Number(r['packetsSent'] ?? 0);
            s.videoFrames += Number(r['framesEncoded'] ?? 0);
            s.encodeSeconds += Number(r['totalEncodeTime'] ?? 0);
            const limits = r['qualityLimitationDurations'] as unknown as Record<string, number> | undefined;
            s.cpuLimitedSeconds += Number(limits?.['cpu'] ?? 0);
            s.bandwidthLimitedSeconds += Number(limits?.['bandwidth'] ?? 0);
          } else {
            s.audioBytes += Number(r['bytesSent'] ?? 0);
            s.audioPackets += Number(r['packetsSent'] ?? 0);
          }
        } else if (r['type'] === 'inbound-rtp' && r['kind'] === 'video') s.framesDecoded += Number(r['framesDecoded'] ?? 0);
        else if (r['type'] === 'candidate-pair' && r['nominated'] && r['availableOutgoingBitrate'] !== undefined)
          s.outgoingEstimateBps = Math.max(s.outgoingEstimateBps, Number(r['availableOutgoingBitrate']));
      });
    }
    const send = e2ee.frames.send;
    return { ...s, t: s.t || performance.timeOrigin + performance.now(), encrypted: send.encrypted, kid: send.kid?.toString() };
  });
}

/** Caps (or uncaps, with 0) every video sender's bitrate on the page. */
function setVideoMaxBitrate(page: Page, bps: number): Promise<number> {
  return page.evaluate(async (max) => {
    const w = window as unknown as { __pcs?: RTCPeerConnection[] };
    let n = 0;
    for (const pc of w.__pcs ?? []) {
      for (const sender of pc.getSenders()) {
        if (sender.track?.kind !== 'video') continue;
        const p = sender.getParameters();
        for (const e of p.encodings ?? []) {
          if (max > 0) e.maxBitrate = max;
          else delete e.maxBitrate;
        }
        await sender.setParameters(p);
        n++;
      }
    }
    return n;
  }, bps);
}

/** Remote videos decoding on the page: framesDecoded per inbound video stream. */
function decodedPerRemote(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const w = window as unknown as { __pcs?: RTCPeerConnection[] };
    const out: number[] = [];
    for (const pc of w.__pcs ?? []) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((r: Record<string, unknown>) => {
        if (r['type'] === 'inbound-rtp' && r['kind'] === 'video') out.push(Number(r['framesDecoded'] ?? 0));
      });
    }
    return out;
  });
}

interface Window {
  seconds: number;
  browserCpu: number;
  serverNodeCpu: number;
  workerCpu: number;
  /** Summed over the three pages, per second. */
  videoBps: number;
  audioBps: number;
  videoFps: number;
  audioPps: number;
  decodedFps: number;
  encryptedPerSec: number;
  /** SFrame header bytes for this window's KID and CTR range (mean over pages). */
  headerBytes: number;
  /** The same for the microphone's frames (compact KID; CTR bounded by the audio packets sent). */
  audioHeaderBytes: number;
  videoPacketsPerSec: number;
  rtxBps: number;
  /** Smallest sent frame height among the pages at the end, and any quality limitation reported. */
  frameHeight: number;
  limited: string;
  /** WebRTC's encode time per encoded video frame (ms), share of the window limited by CPU / bandwidth, mean estimate (kbps). */
  encodeMsPerFrame: number;
  cpuLimitedShare: number;
  bandwidthLimitedShare: number;
  estimateKbps: number;
  /** Browser CPU seconds per thread name over the window. */
  threads: Map<string, number>;
}

interface RunResult {
  variant: 'on' | 'off';
  main: Window;
  low: Window;
  loadavg: string;
}

async function measure(pages: Page[], seconds: number, withCpu: boolean): Promise<Window> {
  const isBrowser = (p: ProcInfo): boolean => !isMediasoupWorker(p) && /chrom|headless/i.test(p.comm);
  const before = await Promise.all(pages.map(samplePage));
  const t0 = performance.now();
  const b0 = withCpu ? snapshotTree(isBrowser) : new Map();
  const th0 = threadSnapshot(b0.keys());
  const w0 = withCpu ? snapshotTree(isMediasoupWorker) : new Map();
  const n0 = selfCpu();
  await sleep(seconds * 1000);
  const n1 = selfCpu();
  const b1 = withCpu ? snapshotTree(isBrowser) : new Map();
  const th1 = threadSnapshot(b1.keys());
  const w1 = withCpu ? snapshotTree(isMediasoupWorker) : new Map();
  const wall = (performance.now() - t0) / 1000;
  const after = await Promise.all(pages.map(samplePage));
  let videoBytes = 0,
    audioBytes = 0,
    videoFrames = 0,
    audioPackets = 0,
    decoded = 0,
    encrypted = 0,
    statsSec = 0,
    hdr = 0,
    ahdr = 0,
    vpk = 0,
    encodeS = 0,
    framesEnc = 0,
    cpuLim = 0,
    bwLim = 0;
  for (let i = 0; i < pages.length; i++) {
    const a = before[i]!,
      b = after[i]!;
    const dt = (b.t - a.t) / 1000;
    statsSec += dt / pages.length;
    videoBytes += (b.videoBytes - a.videoBytes) / dt;
    audioBytes += (b.audioBytes - a.audioBytes) / dt;
    videoFrames += (b.videoFrames - a.videoFrames) / dt;
    audioPackets += (b.audioPackets - a.audioPackets) / dt;
    vpk += (b.videoPackets - a.videoPackets) / dt;
    decoded += (b.framesDecoded - a.framesDecoded) / dt;
    encodeS += b.encodeSeconds - a.encodeSeconds;
    framesEnc += b.videoFrames - a.videoFrames;
    // Each page has one video sender: its limited time as a share of the window, averaged over pages.
    cpuLim += (b.cpuLimitedSeconds - a.cpuLimitedSeconds) / dt / pages.length;
    bwLim += (b.bandwidthLimitedSeconds - a.bandwidthLimitedSeconds) / dt / pages.length;
    encrypted += (b.encrypted - a.encrypted) / dt;
    // CTR is per send key and counts every frame since the key was set; the
    // cumulative count bounds it from above (its byte length is what matters).
    hdr += b.kid === undefined ? 0 : headerLength(BigInt(b.kid), BigInt(Math.max(1, b.encrypted))) / pages.length;
    // One Opus frame per audio packet; the mic's counter counts only its own frames.
    ahdr += headerLength(A_COMPACT_KID, BigInt(Math.max(1, b.audioPackets))) / pages.length;
  }
  void statsSec;
  const rtx = after.reduce((n, b, k) => n + (b.videoRtxBytes - before[k]!.videoRtxBytes) / ((b.t - before[k]!.t) / 1000), 0);
  return {
    seconds: wall,
    browserCpu: cpuBetween(b0, b1),
    serverNodeCpu: n1 - n0,
    workerCpu: cpuBetween(w0, w1),
    videoBps: videoBytes * 8,
    audioBps: audioBytes * 8,
    videoFps: videoFrames,
    audioPps: audioPackets,
    decodedFps: decoded,
    encryptedPerSec: encrypted,
    headerBytes: hdr,
    audioHeaderBytes: ahdr,
    videoPacketsPerSec: vpk,
    rtxBps: rtx * 8,
    frameHeight: Math.min(...after.map((b) => b.frameHeight)),
    limited: [...new Set(after.map((b) => b.limited).filter(Boolean))].join('+') || 'none',
    encodeMsPerFrame: framesEnc > 0 ? (1000 * encodeS) / framesEnc : NaN,
    cpuLimitedShare: cpuLim,
    bandwidthLimitedShare: bwLim,
    estimateKbps: after.reduce((n, b) => n + b.outgoingEstimateBps, 0) / pages.length / 1000,
    threads: threadCpuByName(th0, th1),
  };
}

async function waitDecoding(pages: Page[], timeoutMs = 45_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (const p of pages) {
    for (;;) {
      const d = await decodedPerRemote(p);
      if (d.filter((x) => x > 10).length >= 2) break;
      if (Date.now() > end) throw new Error(`a page did not decode both remote videos within ${timeoutMs} ms: ${JSON.stringify(d)}`);
      await sleep(250);
    }
  }
}

async function oneRun(serverUrl: string, variant: 'on' | 'off', index: number): Promise<RunResult> {
  const browser: Browser = await launchBrowser(cameraArgs());
  try {
    const meeting = `bench-call-${Date.now()}-${index}`;
    const q = variant === 'off' ? '&test=plaintext' : '';
    const pages: Page[] = [];
    const logs: string[][] = [];
    for (const n of ['Alice', 'Bob', 'Carol']) {
      const p = await openProbedPage(browser, `${serverUrl}/?meeting=${meeting}&name=${n}&join=1${q}${linkFragment(meeting)}`, n, {
        camera: opts.camera === '640x360@30' ? 'default' : opts.camera,
      });
      pages.push(p.page);
      logs.push(p.logs);
      await waitJoined(p.page);
    }
    try {
      await waitDecoding(pages);
    } catch (e) {
      console.error(logs.flat().join('\n'));
      throw e;
    }
    for (const p of pages) await setVideoMaxBitrate(p, opts.videoKbps * 1000);
    await sleep(opts.warmup * 1000);
    const main = await measure(pages, opts.seconds, true);
    const la = loadavg();
    for (const p of pages) await setVideoMaxBitrate(p, opts.lowKbps * 1000);
    await sleep(4000); // let the encoder settle at the lower target
    const low = await measure(pages, opts.lowSeconds, false);
    if (variant === 'on') {
      for (const p of pages) {
        const enc = await readSurface(p, ({ e2ee }) => e2ee.frames.send.encrypted);
        if (enc === 0) throw new Error('E2EE run encrypted no frames');
      }
    }
    return { variant, main, low, loadavg: la };
  } finally {
    await browser.close();
  }
}

function row(r: RunResult): string {
  const m = r.main;
  const server = m.serverNodeCpu + m.workerCpu;
  return (
    `| ${r.variant} | ${fmt(m.seconds, 1)} | ${fmt(m.browserCpu, 2)} (${fmt((100 * m.browserCpu) / m.seconds, 0)}%) | ${fmt(m.serverNodeCpu, 2)} + ${fmt(m.workerCpu, 2)} = ${fmt(server, 2)} | ` +
    `${fmt((1000 * m.browserCpu) / ((m.videoFps + m.decodedFps) * m.seconds), 2)} | ${fmt(m.videoBps / 1000, 0)} | ${fmt(m.audioBps / 1000, 1)} | ${fmt(m.videoFps, 1)} | ${fmt(m.decodedFps, 1)} | ${fmt(r.low.videoBps / 1000, 0)} | ${fmt(r.low.audioBps / 1000, 1)} | ${m.frameHeight}p ${m.limited}, rtx ${fmt(m.rtxBps / 1000, 0)} kbps | ${r.loadavg} |`
  );
}

async function main(): Promise<void> {
  const build = frozenBuild(opts.static);
  const server = await startTestServer(['--static', build.path, '--test-mode']);
  const cpuLoad = startCpuLoad(opts.load);
  const load = new LoadSampler();
  const started = Date.now();
  console.log(`# bench/call.ts — ${new Date().toISOString()}`);
  console.log(`machine: ${machine()}`);
  console.log(`extra load: ${cpuLoad.description}`);
  console.log(
    `build: ${build.label}; camera ${opts.camera} (${opts.video}); ${opts.rounds} rounds × (on, off); windows: ${opts.seconds} s at ≤${opts.videoKbps} kbps video + ${opts.lowSeconds} s at ≤${opts.lowKbps} kbps; warm-up ${opts.warmup} s`,
  );
  console.log(`loadavg at start: ${loadavg()}`);
  const results: RunResult[] = [];
  try {
    let i = 0;
    for (let round = 0; round < opts.rounds; round++) {
      // Alternate which variant goes first each round, so drift in background load hits both.
      const order: Array<'on' | 'off'> = round % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
      for (const v of order) {
        const r = await oneRun(server.url, v, i++);
        results.push(r);
        console.log(
          `run ${i} (${v}): browser ${fmt(r.main.browserCpu, 2)} cpu-s, server ${fmt(r.main.serverNodeCpu + r.main.workerCpu, 2)} cpu-s over ${fmt(r.main.seconds, 1)} s; video ${fmt(r.main.videoBps / 1000, 0)} kbps, loadavg ${r.loadavg}`,
        );
      }
    }
  } finally {
    cpuLoad.stop();
    await server.close();
    build.cleanup();
  }

  const on = results.filter((r) => r.variant === 'on');
  const off = results.filter((r) => r.variant === 'off');
  const med = (rs: RunResult[], f: (r: RunResult) => number): number => median(rs.map(f));
  const perSec = (f: (w: Window) => number) => (r: RunResult) => f(r.main) / r.main.seconds;
  const browserOn = med(
      on,
      perSec((w) => w.browserCpu),
    ),
    browserOff = med(
      off,
      perSec((w) => w.browserCpu),
    );
  const serverOn = med(
      on,
      perSec((w) => w.serverNodeCpu + w.workerCpu),
    ),
    serverOff = med(
      off,
      perSec((w) => w.serverNodeCpu + w.workerCpu),
    );
  const totalOn = med(
    on,
    perSec((w) => w.browserCpu + w.serverNodeCpu + w.workerCpu),
  );
  const totalOff = med(
    off,
    perSec((w) => w.browserCpu + w.serverNodeCpu + w.workerCpu),
  );

  console.log('\n## Per run (CPU in CPU-seconds over the window; bitrates summed over the three senders)\n');
  console.log(
    '| E2EE | window s | browser CPU-s (% of a core) | server CPU-s (node + mediasoup worker) | browser CPU-ms per video frame (encoded + decoded) | video kbps | audio kbps | video fps sent | fps decoded | video kbps @low cap | audio kbps @low | sent height, quality limitation, retransmissions | loadavg (1/5/15) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) console.log(row(r));

  // Why the picture may fall short (issue #15 item 5): what WebRTC counts as encode time per frame (the
  // transform's time may land there), how long the senders were limited, and the bandwidth estimate.
  console.log('\n## Video quality per run (1500 kbps window; encode time per encoded frame, limited share averaged over senders)\n');
  console.log(
    '| E2EE | video fps sent | sent height | encode ms per frame | limited by CPU | limited by bandwidth | send estimate kbps (mean per page) |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    const m = r.main;
    console.log(
      `| ${r.variant} | ${fmt(m.videoFps, 1)} | ${m.frameHeight}p | ${fmt(m.encodeMsPerFrame, 2)} | ${fmt(100 * m.cpuLimitedShare, 1)} % | ${fmt(100 * m.bandwidthLimitedShare, 1)} % | ${fmt(m.estimateKbps, 0)} |`,
    );
  }

  console.log('\n## Medians (CPU as cores busy = CPU-s per wall second)\n');
  console.log(`| | E2EE on | off (plaintext) | on/off |`);
  console.log(`|---|---|---|---|`);
  console.log(`| browsers (3 pages) | ${fmt(browserOn, 3)} | ${fmt(browserOff, 3)} | ${pct(browserOn / browserOff)} |`);
  console.log(`| server (node + worker) | ${fmt(serverOn, 3)} | ${fmt(serverOff, 3)} | ${pct(serverOn / serverOff)} |`);
  console.log(`| total | ${fmt(totalOn, 3)} | ${fmt(totalOff, 3)} | ${pct(totalOn / totalOff)} |`);
  const perFrameCpu = (r: RunResult): number => (1000 * r.main.browserCpu) / ((r.main.videoFps + r.main.decodedFps) * r.main.seconds);
  const pfOn = med(on, perFrameCpu),
    pfOff = med(off, perFrameCpu);
  console.log(`| browser CPU-ms per video frame (encoded + decoded) | ${fmt(pfOn, 2)} | ${fmt(pfOff, 2)} | ${pct(pfOn / pfOff)} |`);
  const ratios = on.map((r, k) => {
    const o = off[k];
    return o ? perSec((w) => w.browserCpu)(r) / perSec((w) => w.browserCpu)(o) : NaN;
  });
  const names = new Set<string>();
  for (const r of results) for (const k of r.main.threads.keys()) names.add(k);
  const thr = [...names]
    .map((n) => ({
      n,
      on: med(on, (r) => (r.main.threads.get(n) ?? 0) / r.main.seconds),
      off: med(off, (r) => (r.main.threads.get(n) ?? 0) / r.main.seconds),
    }))
    .sort((a, b) => Math.max(b.on, b.off) - Math.max(a.on, a.off))
    .slice(0, 14);
  console.log(
    '\nBrowser CPU by thread name (cores busy, median; all processes of the browser, digits folded; the frame worker is DedicatedWorker, and it runs in both variants: off passes frames through untouched):\n',
  );
  console.log('| thread | E2EE on | off | on − off |');
  console.log('|---|---|---|---|');
  for (const t of thr)
    console.log(`| ${t.n} | ${fmt(t.on, 3)} | ${fmt(t.off, 3)} | ${t.on - t.off >= 0 ? '+' : ''}${fmt(t.on - t.off, 3)} |`);
  console.log(
    `\nbrowser CPU on/off per round: ${ratios.map((x) => pct(x)).join(', ')}; target: E2EE ≤ +5% CPU → ${pct(browserOn / browserOff)} ${browserOn / browserOff <= 1.05 ? 'MET' : 'MISSED'}`,
  );

  // Bandwidth.
  const vOn = med(on, (r) => r.main.videoBps),
    vOff = med(off, (r) => r.main.videoBps);
  const aOn = med(on, (r) => r.main.audioBps),
    aOff = med(off, (r) => r.main.audioBps);
  const lvOn = med(on, (r) => r.low.videoBps),
    lvOff = med(off, (r) => r.low.videoBps);
  const laOn = med(on, (r) => r.low.audioBps),
    laOff = med(off, (r) => r.low.audioBps);
  const fps = med(on, (r) => r.main.videoFps / 3),
    lowFps = med(on, (r) => r.low.videoFps / 3);
  const aps = med(on, (r) => r.main.audioPps / 3);
  const hdr = med(on, (r) => r.main.headerBytes);
  const perFrame = hdr + TAG_BYTES;
  console.log('\n## Bandwidth (outbound-rtp bytesSent, RTP payload incl. SFrame; per sender = sum / 3)\n');
  console.log('| | E2EE on | off | on/off |');
  console.log('|---|---|---|---|');
  console.log(`| video kbps per sender, cap ${opts.videoKbps} | ${fmt(vOn / 3000, 1)} | ${fmt(vOff / 3000, 1)} | ${pct(vOn / vOff, 2)} |`);
  console.log(`| audio kbps per sender | ${fmt(aOn / 3000, 1)} | ${fmt(aOff / 3000, 1)} | ${pct(aOn / aOff)} |`);
  console.log(
    `| video kbps per sender, cap ${opts.lowKbps} | ${fmt(lvOn / 3000, 1)} | ${fmt(lvOff / 3000, 1)} | ${pct(lvOn / lvOff, 2)} |`,
  );
  console.log(`| audio kbps per sender (low-cap window) | ${fmt(laOn / 3000, 1)} | ${fmt(laOff / 3000, 1)} | ${pct(laOn / laOff)} |`);
  console.log(
    `| video fps per sender (cap ${opts.videoKbps}) | ${fmt(fps, 1)} | ${fmt(
      med(off, (r) => r.main.videoFps / 3),
      1,
    )} | |`,
  );
  const audioPerFrame = med(on, (r) => r.main.audioHeaderBytes) + AUDIO_TAG_BYTES;
  const audioOvh = aps * audioPerFrame * 8;
  // Bytes per packet (one Opus frame each) do not depend on how many packets a starved machine gets out.
  const perPacket = (rs: RunResult[]): number => med(rs, (r) => r.main.audioBps / 8 / r.main.audioPps);
  console.log(
    `\nAudio: SFrame adds ${fmt(audioPerFrame, 1)} B per Opus frame (config byte with the compact KID inline + CTR bytes + ${AUDIO_TAG_BYTES} B HMAC tag): ` +
      `${fmt((50 * audioPerFrame * 8) / 1000, 2)} kbps at 50 frames/s (target ≤ 5); at the ${fmt(aps, 1)} frames/s per sender measured, ${fmt(audioOvh / 1000, 2)} kbps computed. ` +
      `Measured: ${fmt(perPacket(on), 1)} / ${fmt(perPacket(off), 1)} B per audio packet on / off (+${fmt(perPacket(on) - perPacket(off), 1)} B); on − off ${fmt((aOn - aOff) / 3000, 2)} kbps per sender.`,
  );
  const ovh = (framesPerSec: number): number => framesPerSec * perFrame * 8;
  console.log(
    `\nSFrame overhead per frame: ${fmt(hdr, 1)} B header (config byte + 3-byte KID for epochs < 256 + CTR bytes) + ${TAG_BYTES} B AES-GCM tag = ${fmt(perFrame, 1)} B.`,
  );
  console.log('Computed overhead = frames/s × bytes per frame × 8, as a share of the cap and of the measured plaintext bitrate:\n');
  console.log(
    '| stream | cap | measured kbps on / off (per sender) | measured on/off | frames/s (on) | computed overhead kbps | share of cap | share of measured off | share at 30 fps |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const [cap, f, von, voff] of [
    [opts.lowKbps, lowFps, lvOn / 3, lvOff / 3],
    [opts.videoKbps, fps, vOn / 3, vOff / 3],
  ] as const) {
    console.log(
      `| video | ${cap} kbps | ${fmt(von / 1000, 0)} / ${fmt(voff / 1000, 0)} | ${pct(von / voff, 2)} | ${fmt(f, 1)} | ${fmt(ovh(f) / 1000, 2)} | ${fmt((100 * ovh(f)) / (cap * 1000), 2)}% | ${fmt((100 * ovh(f)) / voff, 2)}% | ${fmt((100 * ovh(30)) / (cap * 1000), 2)}% |`,
    );
  }
  console.log(
    `| audio (Opus) | — | ${fmt(aOn / 3000, 1)} / ${fmt(aOff / 3000, 1)} | ${pct(aOn / aOff, 1)} | ${fmt(aps, 1)} | ${fmt(audioOvh / 1000, 2)} | — | ${fmt((100 * audioOvh) / (aOff / 3), 1)}% | — |`,
  );
  console.log(
    `\nencrypted frames/s per sender (worker counter): ${fmt(
      med(on, (r) => r.main.encryptedPerSec / 3),
      1,
    )} (video fps + audio pkt/s = ${fmt(fps + aps, 1)})`,
  );
  console.log(`\nwall time ${fmt((Date.now() - started) / 1000, 0)} s; ${load.stop()}`);
}

runBench(main);
