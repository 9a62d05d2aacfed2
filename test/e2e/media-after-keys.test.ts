// Issue #15 item 2: a newcomer does its part of the key exchange before it sets
// up media. Media set-up (device, transports, consumers, tiles) fills the page's
// main thread for a few hundred milliseconds; the leader's key message queued
// behind it held up the newcomer's ack and so every member's switch to the
// epoch that adds it. Nothing the media brings is usable before we are keyed
// (video is held, frames we cannot decrypt are dropped), so it waits, but only
// for a bounded time: a silent leader or a lobby must not keep the camera off.

import { describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/app.ts';
import { openParticipant, videoFramesDecodedFrom, withOpenPages } from '../../harness/browser.ts';
import { e2eeSnapshot } from '../../harness/e2ee-page.ts';
import { linkFragment } from '../../harness/meeting-link.ts';
import { openProbedPage, probeState } from '../../harness/page-probes.ts';
import { joinedAs } from '../../harness/test-surface.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { serverAndBrowser } from '../../harness/suite.ts';

let server: RunningServer;
let browser: Browser;
serverAndBrowser((s, b) => ([server, browser] = [s, b]));

/** Milliseconds since the page's navigation: its join answered, its first transport and producer asked for, its first send epoch. */
async function startSteps(page: Page): Promise<{ joined: number; transport: number; keyed: number; produced: number }> {
  const s = await probeState(page);
  const origin = await page.evaluate(() => performance.timeOrigin);
  const keyedAbs = s.epochs.find((e) => e.epoch >= 1)?.abs;
  return {
    joined: s.marks['resp:join'] ?? NaN,
    transport: s.marks['send:create-transport'] ?? NaN,
    produced: s.marks['send:produce'] ?? NaN,
    keyed: keyedAbs === undefined ? NaN : keyedAbs - origin,
  };
}

describe('media set-up after the key exchange', () => {
  it('a newcomer asks for its first transport only once it sends under the meeting key, and then sees and hears the others', async () => {
    const meeting = `media-after-keys-${Date.now()}`;
    const alice = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Alice&join=1${linkFragment(meeting)}`, 'alice');
    const aliceId = await joinedAs(alice.page);
    const bob = await openProbedPage(browser, `${server.url}/?meeting=${meeting}&name=Bob&join=1${linkFragment(meeting)}`, 'bob');
    await withOpenPages([alice, bob], async () => {
      await expect.poll(async () => (await e2eeSnapshot(bob.page)).state, { timeout: 20_000 }).toBe('ok');
      await expect.poll(async () => (await startSteps(bob.page)).transport, { timeout: 10_000 }).toBeGreaterThan(0);
      const steps = await startSteps(bob.page);
      expect(steps.keyed).toBeGreaterThan(steps.joined);
      // The order this test is about: keyed first, then media.
      expect(steps.transport).toBeGreaterThanOrEqual(steps.keyed);
      await expect.poll(() => videoFramesDecodedFrom(bob.page, aliceId), { timeout: 20_000 }).toBeGreaterThan(10);
    });
  });

  it('a newcomer nobody keys (a silent participant ahead of it) still sets up media, about 1.5 s after its join, before any key', async () => {
    const meeting = `media-gate-bound-${Date.now()}`;
    const ghost = await TestClient.connect(server.url);
    await ghost.join(meeting);
    const noa = await openProbedPage(browser, `${server.url}/?meeting=${meeting}&name=Noa&join=1${linkFragment(meeting)}`, 'noa');
    try {
      await withOpenPages([noa], async () => {
        await joinedAs(noa.page);
        await expect.poll(async () => (await startSteps(noa.page)).transport, { timeout: 10_000 }).toBeGreaterThan(0);
        const steps = await startSteps(noa.page);
        const waited = steps.transport - steps.joined;
        expect(waited).toBeGreaterThanOrEqual(1400);
        expect(waited).toBeLessThan(4000);
        // Before any key: 2 s of silence from the participant ahead later, it starts the meeting key itself (§5).
        expect(Number.isNaN(steps.keyed) || steps.keyed > steps.transport).toBe(true);
        // The camera is published (its frames are dropped until a key comes, as before).
        await expect.poll(() => noa.page.locator('video').count(), { timeout: 10_000 }).toBeGreaterThan(0);
        await expect.poll(async () => (await startSteps(noa.page)).produced, { timeout: 10_000 }).toBeGreaterThan(steps.transport);
        await expect.poll(async () => (await e2eeSnapshot(noa.page)).state, { timeout: 10_000 }).toBe('ok');
      });
    } finally {
      await ghost.close();
    }
  });
});
