// Two Chromium pages join one meeting by URL. Media goes through the real
// mediasoup SFU SFrame-encrypted, and each page must decode the other's video
// and receive its audio — on both encoded-transform paths. A receiver holding
// a wrong key must decode nothing and count authentication failures.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/app.ts';
import { inboundStats, openParticipant, resultsDir, totals, withOpenPages, type MediaStats } from '../../harness/browser.ts';
import { e2eeSnapshot } from '../../harness/e2ee-page.ts';
import { linkFragment } from '../../harness/meeting-link.ts';
import { serverAndBrowser } from '../../harness/suite.ts';

let server: RunningServer;
let browser: Browser;
serverAndBrowser((s, b) => ([server, browser] = [s, b]));

async function mediaGrowth(page: Page, windowMs = 2500): Promise<{ before: MediaStats; after: MediaStats }> {
  const deadline = Date.now() + 20_000;
  let before = totals(await inboundStats(page));
  while (Date.now() < deadline && (before.videoFramesDecoded === 0 || before.audioPackets === 0)) {
    await page.waitForTimeout(300);
    before = totals(await inboundStats(page));
  }
  await page.waitForTimeout(windowMs);
  return { before, after: totals(await inboundStats(page)) };
}

describe.each(['script-transform', 'encoded-streams'] as const)('two browsers, E2EE on (%s)', (transform) => {
  it("each page decrypts and decodes the other's video and audio", async () => {
    const meeting = `two-${transform}-${Date.now()}`;
    const url = (name: string) => `${server.url}/?meeting=${meeting}&name=${name}&join=1&transform=${transform}${linkFragment(meeting)}`;
    const a = await openParticipant(browser, url('Alice'), 'alice');
    const b = await openParticipant(browser, url('Bob'), 'bob');
    await withOpenPages([a, b], async () => {
      for (const [p, other] of [
        [a, 'Bob'],
        [b, 'Alice'],
      ] as const) {
        const tile = p.page.locator('[data-testid=tile]');
        await tile.first().waitFor({ timeout: 15_000 });
        expect(await tile.count()).toBe(1);
        await expect.poll(() => tile.first().textContent(), { timeout: 10_000 }).toContain(other);
        await expect.poll(() => tile.first().getAttribute('data-e2ee'), { timeout: 10_000 }).toBe('ok');
      }
      const [ga, gb] = await Promise.all([mediaGrowth(a.page), mediaGrowth(b.page)]);
      console.log(`[${transform}] alice received ${JSON.stringify(ga.after)}\n[${transform}] bob received ${JSON.stringify(gb.after)}`);
      for (const g of [ga, gb]) {
        expect(g.after.videoFramesDecoded).toBeGreaterThan(g.before.videoFramesDecoded + 10);
        expect(g.after.audioPackets).toBeGreaterThan(g.before.audioPackets + 20);
        expect(g.after.audioEnergy).toBeGreaterThan(g.before.audioEnergy);
      }
      const [sa, sb] = await Promise.all([e2eeSnapshot(a.page), e2eeSnapshot(b.page)]);
      expect(sa.path).toBe(transform);
      // The frames really went through SFrame: encrypted on one side, decrypted on the other.
      expect(sa.sent.encrypted).toBeGreaterThan(50);
      expect(sb.sent.encrypted).toBeGreaterThan(50);
      expect(sa.received[sb.selfId]?.decrypted).toBeGreaterThan(50);
      expect(sb.received[sa.selfId]?.decrypted).toBeGreaterThan(50);
      expect(sa.epoch).toBeGreaterThan(0);
      expect(sa.epoch).toBe(sb.epoch);
      expect(sa.securityCode).toMatch(/\d/);
      expect(sa.securityCode).toBe(sb.securityCode);
      expect(await a.page.getByTestId('security-code').textContent()).toBe(sa.securityCode);
      const width = await a.page
        .locator('[data-testid=tile] video')
        .first()
        .evaluate((v: HTMLVideoElement) => v.videoWidth);
      expect(width).toBeGreaterThan(0);
      await a.page.screenshot({ path: path.join(resultsDir(), `two-browsers-${transform}.png`) });
    });
  });
});

describe('a receiver with the wrong key', () => {
  it('decodes no video and counts every dropped frame as an authentication failure', async () => {
    const meeting = `wrongkey-${Date.now()}`;
    const a = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Alice&join=1${linkFragment(meeting)}`, 'alice');
    const b = await openParticipant(
      browser,
      `${server.url}/?meeting=${meeting}&name=Mallory&join=1&test=wrong-key${linkFragment(meeting)}`,
      'mallory',
    );
    await withOpenPages([a, b], async () => {
      // Control: the honest page decodes the other's video in the same meeting.
      const ga = await mediaGrowth(a.page);
      expect(ga.after.videoFramesDecoded).toBeGreaterThan(10);
      await b.page.waitForTimeout(1000);
      const stats = totals(await inboundStats(b.page));
      const sa = await e2eeSnapshot(a.page);
      const sb = await e2eeSnapshot(b.page);
      console.log(`wrong-key receiver: ${JSON.stringify(stats)} drops ${JSON.stringify(sb.received[sa.selfId])}`);
      expect(stats.videoBytes).toBeGreaterThan(10_000); // ciphertext arrived…
      expect(stats.videoFramesDecoded).toBe(0); // …and none of it decoded
      const fromAlice = sb.received[sa.selfId];
      expect(fromAlice?.decrypted ?? 0).toBe(0);
      expect(fromAlice?.dropped['AUTH_FAILED'] ?? 0).toBeGreaterThan(50);
      await expect.poll(() => b.page.locator('[data-testid=tile]').first().getAttribute('data-e2ee'), { timeout: 5000 }).toBe('failing');
      await b.page.screenshot({ path: path.join(resultsDir(), 'wrong-key-receiver.png') });
    });
  });
});
