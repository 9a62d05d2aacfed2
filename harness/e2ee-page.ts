// Reads the E2EE state a test-build page exposes (harness/test-surface.ts):
// transform path, epoch, security code and the frame worker's counters.

import type { Page } from 'playwright-core';
import { TEST_SURFACE_GLOBAL } from '../client/src/test-surface.ts';
import { readSurface, type EvaluatesExpressions } from './test-surface.ts';

export interface E2eeSnapshot {
  selfId: string;
  path: string;
  state: string;
  epoch: number;
  securityCode: string;
  roster: string[];
  leaderId: string | undefined;
  sent: { encrypted: number; dropped: Record<string, number> };
  received: Record<string, { decrypted: number; dropped: Record<string, number>; lastKid?: string }>;
  errors: string[];
}

export function e2eeSnapshot(page: EvaluatesExpressions): Promise<E2eeSnapshot> {
  return readSurface(page, ({ e2ee: c, meeting }) => {
    const received: Record<string, { decrypted: number; dropped: Record<string, number>; lastKid?: string }> = {};
    for (const [id, s] of c.frames.receive) {
      received[id] = { decrypted: s.decrypted, dropped: { ...s.dropped }, lastKid: s.lastKid?.toString() };
    }
    return {
      selfId: meeting.join?.participantId ?? '',
      path: c.frames.path,
      state: c.state,
      epoch: c.epoch,
      securityCode: c.securityCode,
      roster: c.roster.map((m) => m.participantId),
      leaderId: c.leaderId,
      sent: { encrypted: c.frames.send.encrypted, dropped: { ...c.frames.send.dropped } },
      received,
      errors: c.errors.map((e) => e.code),
    };
  });
}

/**
 * Init script: records when the page's send epoch (the test surface's e2ee.epoch) changes,
 * on a clock shared by all pages of the machine (timeOrigin + now), polled every
 * 5 ms in the page so a test's own polling and IPC delays do not count.
 */
export const EPOCH_CLOCK = `(() => {
  const times = (window.__epochTimes = []);
  let last;
  setInterval(() => {
    const s = window[${JSON.stringify(TEST_SURFACE_GLOBAL)}];
    const e = s && s.e2ee.epoch;
    if (typeof e === 'number' && e !== last) { last = e; times.push({ epoch: e, at: performance.timeOrigin + performance.now() }); }
  }, 5);
})();`;

/** Waits until the page's send epoch exceeds `above`; returns when (EPOCH_CLOCK time) it first did. */
export async function epochSwitchTime(page: Page, above: number, timeoutMs: number): Promise<number> {
  const handle = await page.waitForFunction(
    (e) => (window as unknown as { __epochTimes: { epoch: number; at: number }[] }).__epochTimes.find((t) => t.epoch > e)?.at,
    above,
    { polling: 20, timeout: timeoutMs },
  );
  return (await handle.jsonValue()) as number;
}

/** Clicks a test-id'd control inside the page and returns the click time on the EPOCH_CLOCK clock. */
export function clickAt(page: Page, testid: string): Promise<number> {
  return page.evaluate((id) => {
    const t = performance.timeOrigin + performance.now();
    (document.querySelector(`[data-testid=${id}]`) as HTMLElement).click();
    return t;
  }, testid);
}
