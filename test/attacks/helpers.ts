// Shared steps of the attack tests: start a deliberately malicious server
// (--test-mode --attack NAME), join Chromium pages one after another (join
// order decides who leads and whom an attack picks as its victim), and read
// what each page shows and counts.

import { expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startAdversaryServer, type AdversaryServer } from '../../harness/adversary/server.ts';
import { isConfigError, parseConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { launchBrowser, openParticipant, videoFramesDecodedFrom, withOpenPages } from '../../harness/browser.ts';
import { REPO_ROOT } from '../../harness/server.ts';
import { joinedAs, readSurface, TEST_BUILD_ARGS } from '../../harness/test-surface.ts';
import { linkFragment, linkSecretFor } from '../../harness/meeting-link.ts';

export { launchBrowser };

/**
 * Each attack test normally takes 10-25 s; the limit leaves room for a busy
 * machine (several Chromium pages decoding video on few cores).
 */
export const ATTACK_TEST_TIMEOUT = 90_000;

/**
 * Like startTestServer (ephemeral port, one worker, TEST_SERVER_LOG=1 to see the log), started as the adversary.
 * By default the attack plays an insider holding the meeting links the tests hand out (harness/meeting-link.ts),
 * to test the defences behind the link envelope; `{ insider: false }` is the server alone, without any link.
 */
export async function startAttackServer(name: string, extra: string[] = [], opts: { insider?: boolean } = {}): Promise<AdversaryServer> {
  const cfg = parseConfig(['--port', '0', '--workers', '1', '--quiet', ...TEST_BUILD_ARGS, '--attack', name, ...extra], {}, REPO_ROOT);
  if (isConfigError(cfg)) throw new Error(cfg.message);
  const verbose = Boolean(process.env['TEST_SERVER_LOG']);
  const log = createLogger(verbose ? 'debug' : 'warn', (l) => {
    if (verbose) console.log(l);
  });
  const server = await startAdversaryServer(cfg, {}, log, opts.insider === false ? undefined : linkSecretFor);
  if (server.attack.name !== name) throw new Error(`server did not install attack ${name}`);
  return server;
}

export interface Joined {
  page: Page;
  logs: string[];
  id: string;
  name: string;
}

/** Opens one page per name, each after the previous one has joined. */
export async function joinInOrder(
  browser: Browser,
  server: AdversaryServer,
  meeting: string,
  names: readonly string[],
  query = '',
): Promise<Joined[]> {
  const out: Joined[] = [];
  for (const name of names) {
    const url = `${server.url}/?meeting=${meeting}&name=${encodeURIComponent(name)}&join=1${query}${linkFragment(meeting)}`;
    const { page, logs } = await openParticipant(browser, url, name.toLowerCase());
    const id = await joinedAs(page);
    out.push({ page, logs, id, name });
    // Let its announcement through before the next one joins.
    await page.waitForTimeout(300);
  }
  return out;
}

/** Runs a scenario on joined pages: if it fails, prints their last 40 console lines first; always closes them. */
export function withPages<T>(joined: readonly Joined[], scenario: () => Promise<T>): Promise<T> {
  return withOpenPages(joined, scenario, { tail: 40 });
}

export interface RejectedMessage {
  code: string;
  message: string;
  from?: string;
}

export interface TileView {
  participant: string;
  e2ee: string;
  /** 'true' when the member sends neither audio nor video (listening only). */
  silent: string;
  /** The user's verification of the member's identity key. */
  verified: string;
  text: string;
  videoWidth: number;
  /** The name the tile shows. */
  name: string;
  /** 'true' for a member of the verified roster, 'false' for someone outside the key. */
  inKey: string;
  /** The server's word: 'present', or 'absent' (it says the participant left, or never said it joined). */
  presence: string;
  /** The tile's note (listening only, not connected, outside the key). */
  note: string;
}

export interface PageState {
  id: string;
  state: string;
  epoch: number;
  /** The security code as the header shows it. */
  shownCode: string;
  securityCode: string;
  leaderId?: string;
  /** The verified roster (participant IDs, roster order). */
  roster: string[];
  /** The roster as the security panel lists it, with its verification mark. */
  rosterUi: Array<{ participant: string; verified: string; fingerprint: string }>;
  ownFingerprint: string;
  errors: RejectedMessage[];
  alerts: string[];
  tiles: TileView[];
  screenTiles: TileView[];
  received: Record<string, { decrypted: number; dropped: Record<string, number> }>;
  /** Our outbound frames: encrypted, and dropped by reason (NO_KEY while we have no send key). */
  sent: { encrypted: number; dropped: Record<string, number> };
  /** The E2EE state as the header shows it. */
  shownState: string;
  /** Track IDs of what this page receives, per participant and source. */
  tracks: Record<string, Record<string, string>>;
  joinPeers: string[];
}

export function pageState(page: Page): Promise<PageState> {
  return readSurface(page, ({ e2ee: c, meeting: m }) => {
    const tile = (el: Element): TileView => ({
      participant: el.getAttribute('data-participant') ?? '',
      e2ee: el.getAttribute('data-e2ee') ?? '',
      silent: el.getAttribute('data-silent') ?? '',
      verified: el.getAttribute('data-verified') ?? '',
      text: el.querySelector('.e2ee-badge')?.textContent ?? '',
      videoWidth: (el.querySelector('video') as HTMLVideoElement | null)?.videoWidth ?? 0,
      name: el.querySelector('.name')?.textContent ?? '',
      inKey: el.getAttribute('data-in-key') ?? '',
      presence: el.getAttribute('data-presence') ?? '',
      note: el.querySelector('.tile-note')?.textContent ?? '',
    });
    const received: Record<string, { decrypted: number; dropped: Record<string, number> }> = {};
    for (const [id, s] of c.frames.receive) received[id] = { decrypted: s.decrypted, dropped: { ...s.dropped } };
    const tracks: Record<string, Record<string, string>> = {};
    for (const [id, p] of m.participants) {
      tracks[id] = {};
      for (const [source, t] of Object.entries(p.tracks)) if (t) tracks[id]![source] = t.track.id;
    }
    return {
      id: m.join?.participantId ?? '',
      state: c.state,
      epoch: c.epoch,
      shownCode: document.querySelector('[data-testid=security-code]')?.textContent ?? '',
      securityCode: c.securityCode,
      leaderId: c.leaderId,
      roster: c.roster.map((x) => x.participantId),
      rosterUi: [...document.querySelectorAll('[data-testid=roster] li')].map((li) => ({
        participant: li.getAttribute('data-participant') ?? '',
        verified: li.getAttribute('data-verified') ?? '',
        fingerprint: li.querySelector('.fingerprint')?.textContent ?? '',
      })),
      ownFingerprint: document.querySelector('[data-testid=own-fingerprint]')?.textContent ?? '',
      errors: c.errors.map((e) => ({ code: e.code, message: e.message, from: e.from })),
      alerts: [...document.querySelectorAll('[data-testid=alerts] .alert')].map((a) =>
        (a.firstChild?.textContent ?? a.textContent ?? '').trim(),
      ),
      tiles: [...document.querySelectorAll('[data-testid=tile]')].map(tile),
      screenTiles: [...document.querySelectorAll('[data-testid=screen-tile]')].map(tile),
      received,
      sent: { encrypted: c.frames.send.encrypted, dropped: { ...c.frames.send.dropped } },
      shownState: document.querySelector('[data-testid=e2ee-state]')?.textContent ?? '',
      tracks,
      joinPeers: (m.join?.peers ?? []).map((p) => p.participantId),
    };
  });
}

export interface TrackStats {
  kind: string;
  framesDecoded: number;
  bytesReceived: number;
  packetsReceived: number;
}

/** inbound-rtp stats per receiving track ID. */
export function trackStats(page: Page): Promise<Record<string, TrackStats>> {
  return page.evaluate(async () => {
    const out: Record<string, { kind: string; framesDecoded: number; bytesReceived: number; packetsReceived: number }> = {};
    for (const pc of (window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s['type'] !== 'inbound-rtp') return;
        const id = String(s['trackIdentifier'] ?? s['id']);
        const e = (out[id] ??= { kind: String(s['kind']), framesDecoded: 0, bytesReceived: 0, packetsReceived: 0 });
        e.framesDecoded += Number(s['framesDecoded'] ?? 0);
        e.bytesReceived += Number(s['bytesReceived'] ?? 0);
        e.packetsReceived += Number(s['packetsReceived'] ?? 0);
      });
    }
    return out;
  });
}

/** Video frames this page decoded from one participant's camera (or screen). */
export const decodedFrom = videoFramesDecodedFrom;

/** Total video frames this page decoded from everyone. */
export async function decodedTotal(page: Page): Promise<number> {
  return Object.values(await trackStats(page)).reduce((n, t) => n + (t.kind === 'video' ? t.framesDecoded : 0), 0);
}

/**
 * A newcomer the attack left without anyone's key: it waits for a key, or, after
 * silentAheadMs with nothing from anyone who could key it (the server withheld
 * them), it leads a provisional chain of its own (protocol.md §5). Either way it
 * holds no key of anyone else's, shows nobody else's code, decrypts nothing, and
 * says so on screen.
 */
export function expectOnlyOwnKey(s: PageState, selfId: string, others: readonly PageState[]): void {
  if (s.state === 'waiting-for-key') {
    expect(s.roster).toEqual([]);
    expect(s.securityCode).toBe('');
  } else {
    // It leads (first in its roster); those it listed after it joined after it and may never have taken its key.
    expect(s.state).toBe('ok');
    expect(s.roster[0]).toBe(selfId);
    expect(s.alerts.some((a) => a.includes('you started the meeting key yourself'))).toBe(true);
  }
  for (const o of others) expect(s.securityCode).not.toBe(o.securityCode);
  expect(Object.values(s.received).reduce((n, r) => n + r.decrypted, 0)).toBe(0);
}

export function rejections(s: PageState, code: string, from?: string): RejectedMessage[] {
  return s.errors.filter((e) => e.code === code && (from === undefined || e.from === from));
}

export function alertsFor(s: PageState, code: string, fromName?: string): string[] {
  return s.alerts.filter(
    (a) => a.includes('Rejected a key-exchange message') && a.includes(code) && (fromName === undefined || a.includes(fromName)),
  );
}

export function tileOf(s: PageState, participantId: string): TileView | undefined {
  return s.tiles.find((t) => t.participant === participantId);
}

export function dropsFrom(s: PageState, participantId: string): number {
  return Object.values(s.received[participantId]?.dropped ?? {}).reduce((a, b) => a + b, 0);
}

/** Prints the attack's evidence and the pages' rejections, for the test log. */
export function report(label: string, server: AdversaryServer, pages: ReadonlyArray<{ name: string; s: PageState }>): void {
  const a = server.attack;
  const lines = [`[${label}] attack counters ${JSON.stringify(a.stats.counters)}`];
  for (const e of a.stats.events.slice(0, 12)) lines.push(`[${label}]   ${e}`);
  for (const { name, s } of pages) {
    const codes: Record<string, number> = {};
    for (const e of s.errors) codes[e.code] = (codes[e.code] ?? 0) + 1;
    lines.push(
      `[${label}] ${name}: state=${s.state} epoch=${s.epoch} roster=${s.roster.length} rejected=${JSON.stringify(codes)} tiles=${JSON.stringify(s.tiles.map((t) => t.e2ee))}`,
    );
  }
  console.log(lines.join('\n'));
}
