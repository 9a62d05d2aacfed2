// Two Chromium pages join one meeting by URL and must decode each other's
// video and receive each other's audio through the real mediasoup SFU.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/app.ts';
import { inboundStats, launchBrowser, openParticipant, totals, resultsDir } from '../helpers/browser.ts';
import { startTestServer } from '../helpers/server.ts';
import path from 'node:path';

let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  server = await startTestServer();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function waitForGrowth(page: Page, label: string, logs: string[]): Promise<{ before: ReturnType<typeof totals>; after: ReturnType<typeof totals> }> {
  // Wait until media flows at all, then measure growth over a window.
  const deadline = Date.now() + 20_000;
  let before = totals(await inboundStats(page));
  while (Date.now() < deadline && (before.videoFramesDecoded === 0 || before.audioPackets === 0)) {
    await page.waitForTimeout(500);
    before = totals(await inboundStats(page));
  }
  await page.waitForTimeout(2000);
  const after = totals(await inboundStats(page));
  if (after.videoFramesDecoded <= before.videoFramesDecoded) console.log(`${label} logs:\n${logs.join('\n')}`);
  return { before, after };
}

describe('two browsers in one meeting', () => {
  it('each page decodes the other page\'s video and receives its audio', async () => {
    const meeting = `e2e-${Date.now()}`;
    const a = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Alice&join=1`, 'alice');
    const b = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Bob&join=1`, 'bob');

    for (const [who, other, p] of [
      ['alice', 'Bob', a],
      ['bob', 'Alice', b],
    ] as const) {
      const tile = p.page.locator('[data-testid=tile]');
      await tile.first().waitFor({ timeout: 15_000 });
      expect(await tile.count(), `${who} sees exactly one remote tile`).toBe(1);
      await expect.poll(() => tile.first().textContent(), { timeout: 10_000 }).toContain(other);
      expect(await tile.first().getAttribute('data-participant')).toMatch(/^[A-Za-z0-9_-]+$/);
    }

    const [ga, gb] = await Promise.all([waitForGrowth(a.page, 'alice', a.logs), waitForGrowth(b.page, 'bob', b.logs)]);
    console.log(`alice received: ${JSON.stringify(ga.after)}\nbob received: ${JSON.stringify(gb.after)}`);
    for (const g of [ga, gb]) {
      expect(g.after.videoFramesDecoded).toBeGreaterThan(g.before.videoFramesDecoded + 10);
      expect(g.after.audioPackets).toBeGreaterThan(g.before.audioPackets + 20);
      expect(g.after.audioEnergy).toBeGreaterThan(g.before.audioEnergy);
    }
    // The rendered <video> actually shows frames.
    const width = await a.page.locator('[data-testid=tile] video').first().evaluate((v: HTMLVideoElement) => v.videoWidth);
    expect(width).toBeGreaterThan(0);
    await a.page.screenshot({ path: path.join(resultsDir(), 'two-browsers-alice.png') });
  });
});
