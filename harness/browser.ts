// Headless Debian Chromium with fake camera and microphone, driven by playwright-core.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readSurface, type EvaluatesExpressions } from './test-surface.ts';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--auto-select-desktop-capture-source=Entire screen',
  // Background tabs must keep decoding: several pages share one browser.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run 'bash scripts/setup-system.sh' (npm test does)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** Collects console errors and page errors so a failing test can print them. */
export function watchConsole(page: Page, label: string): string[] {
  const lines: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') lines.push(`[${label} ${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => lines.push(`[${label} pageerror] ${e.message}`));
  return lines;
}

export function resultsDir(): string {
  const dir = path.resolve('test-results');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export interface MediaStats {
  videoFramesDecoded: number;
  videoBytes: number;
  audioPackets: number;
  audioEnergy: number;
}

/** The round-trip times (ms) of the page's nominated ICE candidate pairs, as WebRTC measured them (STUN). */
export async function candidateRtts(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const w = window as unknown as { __pcs?: RTCPeerConnection[] };
    const out: number[] = [];
    for (const pc of w.__pcs ?? []) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s['type'] === 'candidate-pair' && s['nominated'] && typeof s['currentRoundTripTime'] === 'number')
          out.push(1000 * s['currentRoundTripTime']);
      });
    }
    return out;
  });
}

/** Sums inbound RTP stats over every RTCPeerConnection the page made. */
export async function inboundStats(page: Page): Promise<Record<string, MediaStats>> {
  return page.evaluate(async () => {
    const w = window as unknown as { __pcs?: RTCPeerConnection[] };
    const out: Record<string, { videoFramesDecoded: number; videoBytes: number; audioPackets: number; audioEnergy: number }> = {};
    for (const pc of w.__pcs ?? []) {
      if (pc.connectionState === 'closed') continue;
      const report = await pc.getStats();
      report.forEach((s: Record<string, unknown>) => {
        if (s['type'] !== 'inbound-rtp') return;
        const key = String(s['trackIdentifier'] ?? s['mid'] ?? s['id']);
        const e = (out[key] ??= { videoFramesDecoded: 0, videoBytes: 0, audioPackets: 0, audioEnergy: 0 });
        if (s['kind'] === 'video') {
          e.videoFramesDecoded += Number(s['framesDecoded'] ?? 0);
          e.videoBytes += Number(s['bytesReceived'] ?? 0);
        } else {
          e.audioPackets += Number(s['packetsReceived'] ?? 0);
          e.audioEnergy += Number(s['totalAudioEnergy'] ?? 0);
        }
      });
    }
    return out;
  });
}

/**
 * Video frames a test-build page decoded from one participant's camera (or screen): the
 * track the meeting holds for them, so a stream that ends (someone left, a
 * share stopped) does not distort the count.
 */
export async function videoFramesDecodedFrom(
  page: EvaluatesExpressions,
  participantId: string,
  source: 'camera' | 'screen' = 'camera',
): Promise<number> {
  return readSurface(
    page,
    async ({ meeting }, { id, source }) => {
      const trackId = meeting.participants.get(id)?.tracks[source]?.track.id;
      if (!trackId) return 0;
      let n = 0;
      for (const pc of (window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []) {
        if (pc.connectionState === 'closed') continue;
        (await pc.getStats()).forEach((s: Record<string, unknown>) => {
          if (s['type'] === 'inbound-rtp' && s['kind'] === 'video' && s['trackIdentifier'] === trackId)
            n += Number(s['framesDecoded'] ?? 0);
        });
      }
      return n;
    },
    { id: participantId, source },
  );
}

export function totals(stats: Record<string, MediaStats>): MediaStats {
  const t: MediaStats = { videoFramesDecoded: 0, videoBytes: 0, audioPackets: 0, audioEnergy: 0 };
  for (const s of Object.values(stats)) {
    t.videoFramesDecoded += s.videoFramesDecoded;
    t.videoBytes += s.videoBytes;
    t.audioPackets += s.audioPackets;
    t.audioEnergy += s.audioEnergy;
  }
  return t;
}

/**
 * Replaces the app's camera constraints (640x360 at 30 fps) by a smaller
 * capture, e.g. '320x180@15', so several participants fit on a 2-core machine
 * when what is measured is key agreement rather than video coding.
 */
export function cameraOverride(spec: string): string {
  const m = /^(\d+)x(\d+)@(\d+)$/.exec(spec);
  if (!m) throw new Error(`camera spec must look like 320x180@15, not ${spec}`);
  return `(() => {
  const md = navigator.mediaDevices;
  if (!md) return; // a document without camera access (Firefox runs init scripts in about:blank too)
  const orig = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => orig(c && c.video ? { ...c, video: { ...(typeof c.video === 'object' ? c.video : {}), width: ${m[1]}, height: ${m[2]}, frameRate: ${m[3]} } } : c);
})();`;
}

/** Records every RTCPeerConnection a page creates, for getStats() from tests. */
export const TRACK_PEER_CONNECTIONS = `(() => {
  const Orig = window.RTCPeerConnection;
  const pcs = (window.__pcs = []);
  window.RTCPeerConnection = function (...args) { const pc = new Orig(...args); pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Orig.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Orig);
})();`;

export async function openParticipant(
  browser: Browser,
  url: string,
  label: string,
  opts: { initScripts?: string[] } = {},
): Promise<{ page: Page; logs: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['camera', 'microphone']);
  const page = await context.newPage();
  const logs = watchConsole(page, label);
  await page.addInitScript(TRACK_PEER_CONNECTIONS);
  for (const script of opts.initScripts ?? []) await page.addInitScript(script);
  // A browser just started in a fresh network namespace may see its interfaces settle (an address
  // appearing) while it loads: Chromium aborts that load with ERR_NETWORK_CHANGED. Once more is enough.
  await page.goto(url).catch((e: unknown) => {
    if (!String(e).includes('ERR_NETWORK_CHANGED')) throw e;
    return page.goto(url);
  });
  return { page, logs };
}

/** Closes each page's browser context (its own profile), ignoring pages already gone. */
export async function closePages(pages: readonly { page: Page }[]): Promise<void> {
  for (const p of pages)
    await p.page
      .context()
      .close()
      .catch(() => {});
}

/**
 * Runs a scenario on open pages: if it fails, prints their console lines (the
 * last `tail` of them, default all) before rethrowing; always closes the pages.
 */
export async function withOpenPages<T>(
  pages: readonly { page: Page; logs: string[] }[],
  scenario: () => Promise<T>,
  opts: { tail?: number } = {},
): Promise<T> {
  try {
    return await scenario();
  } catch (e) {
    console.log(
      pages
        .flatMap((p) => p.logs)
        .slice(-(opts.tail ?? Infinity))
        .join('\n'),
    );
    throw e;
  } finally {
    await closePages(pages);
  }
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
