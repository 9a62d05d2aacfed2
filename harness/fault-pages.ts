// Page-side helpers of the fault tests and bench: what a page's connection
// status said over time, whether the meeting is whole again after a fault, and
// the invariants read from the pages (harness/fault-invariants.ts).

import type { Page } from 'playwright-core';
import { videoFramesDecodedFrom } from './browser.ts';
import { e2eeSnapshot } from './e2ee-page.ts';
import { sampleTiles, tilesClaimingEncryption } from './fault-invariants.ts';
import { readSurface, waitForSurface } from './test-surface.ts';

/**
 * Init script: window.__statusLog gets 'state|cause|text' each time the
 * connection status in the header changes (a MutationObserver, so a state
 * shown for a few milliseconds is not missed by polling).
 */
export const STATUS_LOG = `(() => {
  const log = (window.__statusLog = []);
  const note = () => {
    const el = document.querySelector('[data-testid=connection-state]');
    if (!el) return;
    const t = (el.dataset.state || '') + '|' + (el.dataset.cause || '') + '|' + el.textContent;
    if (log[log.length - 1] !== t && log.length < 2000) log.push(t);
  };
  const obs = new MutationObserver(note);
  const start = () => obs.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-state', 'data-cause'] });
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();`;

export function statusLog(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __statusLog: string[] }).__statusLog.slice());
}

/** Waits until the page is joined, keyed with `members` roster members, and sending encrypted. Returns its participant id. */
export async function waitRejoined(page: Page, members: number, notId: string | undefined, timeout: number): Promise<string> {
  return waitForSurface(
    page,
    ({ meeting: m, e2ee }, a) =>
      m.phase === 'joined' && m.join?.participantId !== a.notId && e2ee.roster.length === a.members && e2ee.shownState === 'ok'
        ? (m.join?.participantId ?? '')
        : '',
    { members, notId: notId ?? '' },
    { timeout, polling: 50 },
  );
}

/** Waits until every page shows the same epoch and security code; returns the code. */
export async function waitSameSecurityCode(pages: readonly Page[], timeout: number): Promise<string> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const snaps = await Promise.all(pages.map((p) => e2eeSnapshot(p)));
    const codes = new Set(snaps.map((s) => `${s.epoch} ${s.securityCode}`));
    if (codes.size === 1 && snaps[0]!.securityCode) return snaps[0]!.securityCode;
    if (Date.now() > deadline) throw new Error(`security codes differ after ${timeout} ms: ${[...codes].join(' / ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The consumer this page holds for a participant's camera now (undefined: none). */
export function cameraConsumerOf(page: Page, participantId: string): Promise<string | undefined> {
  return readSurface(page, ({ meeting }, id) => meeting.participants.get(id)?.tracks.camera?.consumerId, participantId);
}

/** Waits until `page` decodes more than `frames` video frames from `from` on the track it holds now. */
export async function waitDecoding(page: Page, from: string, frames: number, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    if ((await videoFramesDecodedFrom(page, from)) > frames) return;
    if (Date.now() > deadline) throw new Error(`no ${frames} decoded frames from ${from} within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Tiles that claim "encrypted" while only failing, over `windowMs` of watching each page. */
export async function tilesThatLie(pages: readonly Page[], windowMs: number): Promise<string[]> {
  const before = await Promise.all(pages.map((p) => sampleTiles(p)));
  await new Promise((r) => setTimeout(r, windowMs));
  const after = await Promise.all(pages.map((p) => sampleTiles(p)));
  return pages.flatMap((_, i) => tilesClaimingEncryption(before[i]!, after[i]!));
}
