// Init scripts the call-performance benches add to pages (plain JavaScript
// strings, so the bundler's helpers never leak into the page). All times are
// performance.now() of the page (ms since its navigation started) unless they
// say `abs` (performance.timeOrigin + performance.now(), comparable across
// pages and with Node's performance.timeOrigin + performance.now()).

import type { Browser, Page } from 'playwright-core';
import { TRACK_PEER_CONNECTIONS, cameraOverride, watchConsole } from './browser.ts';
import { onSurfaceInstalled, waitForSurface } from './test-surface.ts';

/**
 * window.__bench.marks: first time of each signaling event
 *   'ws-open', 'send:<type>', 'resp:<type>' (matched by request id), 'notice:<type>',
 *   and 'identity-ready' (the E2EE controller got its identity: the key agent can start);
 * window.__bench.epochs: [{ epoch, at, abs }] each time the test surface's e2ee.epoch changes (an accessor on the field);
 * window.__bench.batchTimers: [{ armed, fired }] for every setTimeout(…, 250) (the key agent's batch timer);
 * window.__bench.notices: [{ type, participantId, abs }] for participant-joined / participant-left;
 * window.__bench.relays: [{ abs, from, len }] for every relayed key-agreement message received;
 * window.__bench.sentRelays: [{ abs, to, len }] for every relay sent;
 * window.__bench.frame: the first remote tile video frame presented (requestVideoFrameCallback).
 */
export const PAGE_PROBES = `(() => {
  const B = (window.__bench = { marks: {}, epochs: [], notices: [], relays: [], sentRelays: [], batchTimers: [], longTasks: [], frame: null, tileAt: null, firstFrames: {} });
  const abs = () => performance.timeOrigin + performance.now();
  // Main-thread tasks over 50 ms: what a relayed message waits behind.
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (B.longTasks.length < 5000) B.longTasks.push({ abs: performance.timeOrigin + e.startTime, dur: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) {}
  const mark = (k) => { if (!(k in B.marks)) B.marks[k] = performance.now(); };
  const Orig = window.WebSocket;
  const types = new Map();
  window.WebSocket = function (url, protocols) {
    const ws = protocols === undefined ? new Orig(url) : new Orig(url, protocols);
    mark('ws-create');
    ws.addEventListener('open', () => mark('ws-open'));
    const send = ws.send.bind(ws);
    ws.send = (d) => {
      try { const m = JSON.parse(d); types.set(m.id, m.type); mark('send:' + m.type); if (m.type === 'relay' && B.sentRelays.length < 5000) B.sentRelays.push({ abs: abs(), to: m.to, len: m.payload.length }); } catch (e) {}
      return send(d);
    };
    ws.addEventListener('message', (ev) => {
      try {
        const m = JSON.parse(ev.data);
        if (m.type === 'response') mark('resp:' + (types.get(m.id) || '?'));
        else {
          mark('notice:' + m.type);
          if (m.type === 'relay' && B.relays.length < 5000) B.relays.push({ abs: abs(), from: m.from, len: m.payload.length });
          if (m.type === 'participant-joined' || m.type === 'participant-left') B.notices.push({ type: m.type, participantId: m.participantId, abs: abs() });
        }
      } catch (e) {}
    });
    return ws;
  };
  window.WebSocket.prototype = Orig.prototype;
  Object.setPrototypeOf(window.WebSocket, Orig);

  // Epoch changes: exact, via an accessor on the controller's 'epoch' field as soon as
  // the test build installs its surface (EPOCH_PROBE); a 2 ms poll stays as a fallback.
  let lastEpoch = -1;
  const noteEpoch = (e) => { if (e !== lastEpoch) { lastEpoch = e; B.epochs.push({ epoch: e, at: performance.now(), abs: abs() }); } };
  // Kept apart from __bench, which probeState() copies out of the page.
  const E = (window.__benchEpoch = { controller: null, note: noteEpoch });
  setInterval(() => { if (E.controller) noteEpoch(E.controller.epoch); }, 2);

  // The key agent's 250 ms batch timer (TIMING.batchMs): when it was armed and when it fired.
  const origSetTimeout = window.setTimeout;
  window.setTimeout = function (fn, ms, ...rest) {
    if (ms === 250 && typeof fn === 'function' && B.batchTimers.length < 1000) {
      const rec = { armed: abs(), fired: 0 };
      B.batchTimers.push(rec);
      const inner = fn;
      return origSetTimeout.call(window, function (...a) { rec.fired = abs(); return inner.apply(this, a); }, ms, ...rest);
    }
    return origSetTimeout.call(window, fn, ms, ...rest);
  };

  const watched = new WeakSet();
  const watch = (v) => {
    if (watched.has(v)) return;
    watched.add(v);
    if (B.tileAt === null) B.tileAt = performance.now();
    if (!('requestVideoFrameCallback' in v)) return;
    v.requestVideoFrameCallback((now, meta) => {
      if (!B.frame) B.frame = { now: now, presentation: meta.presentationTime, expected: meta.expectedDisplayTime, at: performance.now(), width: meta.width, height: meta.height };
      const who = v.closest('[data-testid=tile]')?.dataset.participant;
      if (who && !(who in B.firstFrames)) B.firstFrames[who] = abs();
    });
  };
  new MutationObserver(() => {
    for (const v of document.querySelectorAll('[data-testid=tile] video')) watch(v);
  }).observe(document, { childList: true, subtree: true });
})();`;

export interface EpochChange {
  epoch: number;
  at: number;
  abs: number;
}

export interface ProbeState {
  marks: Record<string, number>;
  epochs: EpochChange[];
  notices: Array<{ type: string; participantId: string; abs: number }>;
  /** Arrival (abs) of every relayed key-agreement message. */
  relays: Array<{ abs: number; from: string; len: number }>;
  /** Every relay this page sent: time (abs), recipient (null = everyone), payload length. */
  sentRelays: Array<{ abs: number; to: string | null; len: number }>;
  /** setTimeout(…, 250) calls (the key agent's batch timer): armed and fired (abs; 0 = not yet or cleared). */
  batchTimers: Array<{ armed: number; fired: number }>;
  /** Main-thread long tasks (> 50 ms): start (abs) and duration. */
  longTasks: Array<{ abs: number; dur: number }>;
  frame: { now: number; presentation: number; expected: number; at: number; width: number; height: number } | null;
  tileAt: number | null;
  /** Participant → when (abs) its camera tile first presented a frame in this page. */
  firstFrames: Record<string, number>;
}

export function probeState(page: Page): Promise<ProbeState> {
  return page.evaluate(() => (window as unknown as { __bench: ProbeState }).__bench);
}

/** Node's clock on the pages' `abs` scale (the same wall clock, sub-millisecond). */
export const nowAbs = (): number => performance.timeOrigin + performance.now();

/** Like harness/browser.ts openParticipant, with PAGE_PROBES installed; `goto` false leaves navigation to the caller. */
export async function openProbedPage(
  browser: Browser,
  url: string,
  label: string,
  opts: { goto?: boolean; camera?: string } = {},
): Promise<{ page: Page; logs: string[]; goto: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['camera', 'microphone']);
  const page = await context.newPage();
  const logs = watchConsole(page, label);
  await page.addInitScript(TRACK_PEER_CONNECTIONS);
  await page.addInitScript(PAGE_PROBES);
  await page.addInitScript(EPOCH_PROBE);
  if (opts.camera && opts.camera !== 'default') await page.addInitScript(cameraOverride(opts.camera));
  const goto = async (): Promise<void> => {
    await page.goto(url, { waitUntil: 'commit' });
  };
  if (opts.goto !== false) await goto();
  return { page, logs, goto };
}

/** Hooks the controller's epoch field for PAGE_PROBES when the test surface appears. */
const EPOCH_PROBE = onSurfaceInstalled(`(s) => {
  const E = window.__benchEpoch;
  const c = (E.controller = s.e2ee);
  let v = c.epoch;
  E.note(v);
  Object.defineProperty(c, 'epoch', { configurable: true, enumerable: true, get() { return v; }, set(x) { v = x; E.note(x); } });
  // When the key agent could start: libsodium ready and the identity loaded (set before or after the surface appears).
  const mark = (k) => { const B = window.__bench; if (!(k in B.marks)) B.marks[k] = performance.now(); };
  let id = c.identity;
  if (id) mark('identity-ready');
  Object.defineProperty(c, 'identity', { configurable: true, enumerable: true, get() { return id; }, set(x) { id = x; if (x) mark('identity-ready'); } });
}`);

/** Polls in the page (every `intervalMs`) until every page's send epoch exceeds `above`; returns nothing, read the probes for times. */
export async function waitEpochAbove(pages: Page[], above: number, timeoutMs: number): Promise<void> {
  await Promise.all(pages.map((p) => waitForSurface(p, ({ e2ee }, e) => e2ee.epoch > e, above, { polling: 10, timeout: timeoutMs })));
}

/**
 * Waits until the page's meeting has joined. The benches open participants one
 * after another with this in between: two joins racing for a new meeting can
 * deliver a participant-joined notice before the first page's join response,
 * which the page's E2EE controller drops (see bench/RESULTS.md, "Call performance").
 */
export async function waitJoined(page: Page, timeoutMs = 30_000): Promise<void> {
  await waitForSurface(page, ({ meeting }) => meeting.phase === 'joined', null, { polling: 20, timeout: timeoutMs });
}

/**
 * Init script: window.__decodeGaps, per inbound video track (trackIdentifier),
 * the longest time framesDecoded did not grow between two growths, sampled
 * every 250 ms from every RTCPeerConnection the page made (needs
 * TRACK_PEER_CONNECTIONS). A track counts from its first decoded frame, so a
 * new tile's wait for its first frame is not a gap; `last` is when it last
 * grew (an open stall is now - last).
 */
export const DECODE_GAPS = `(() => {
  const gaps = (window.__decodeGaps = {});
  setInterval(async () => {
    const now = performance.timeOrigin + performance.now();
    for (const pc of window.__pcs || []) {
      if (pc.connectionState === 'closed') continue;
      let report;
      try { report = await pc.getStats(); } catch (e) { continue; }
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video' || !s.trackIdentifier) return;
        const n = Number(s.framesDecoded || 0);
        const g = gaps[s.trackIdentifier];
        if (!g) { if (n > 0) gaps[s.trackIdentifier] = { frames: n, last: now, maxGap: 0, maxGapEnd: now }; return; }
        if (n > g.frames) {
          if (now - g.last > g.maxGap) { g.maxGap = now - g.last; g.maxGapEnd = now; }
          g.frames = n;
          g.last = now;
        }
      });
    }
  }, 250);
})();`;

export interface DecodeGap {
  frames: number;
  /** When framesDecoded last grew (performance.timeOrigin + now, ms). */
  last: number;
  maxGap: number;
  maxGapEnd: number;
}

/** The page's decode gaps by track id (DECODE_GAPS). */
export function decodeGaps(page: Page): Promise<Record<string, DecodeGap>> {
  return page.evaluate(() => ({ ...(window as unknown as { __decodeGaps?: Record<string, DecodeGap> }).__decodeGaps }));
}
