// In-call features in real Chromium, one server and one browser for all
// cases (browser time is the suite's budget): the alert naming a participant
// whose frames do not decrypt, the layout at phone and desktop sizes, pin,
// speaker view and pages, device switching with E2EE intact, network quality,
// raise hand and reactions sealed like chat, and accessibility.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { RunningServer } from '../../server/app.ts';
import { launchBrowser, openParticipant, resultsDir, withOpenPages } from '../../harness/browser.ts';
import { startTestBuildServer } from '../../harness/server.ts';
import { readSurface } from '../../harness/test-surface.ts';
import { linkFragment } from '../../harness/meeting-link.ts';

let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  server = await startTestBuildServer();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const shot = (name: string): string => path.join(resultsDir(), name);
const joinUrl = (meeting: string, name: string, extra = ''): string =>
  `${server.url}/?meeting=${meeting}&name=${name}&join=1${extra}${linkFragment(meeting)}`;

/** The alert texts a page raised so far (the meeting's list: info alerts leave the screen after a few seconds). */
const alertTexts = (page: Parameters<typeof readSurface>[0]): Promise<string[]> =>
  readSurface(page, ({ meeting }) => meeting.alerts.map((a) => `${a.level}: ${a.text}`));

describe('a participant whose frames do not decrypt', () => {
  it('raises one alert naming them by their verified name, and one when their media decrypts again', async () => {
    const meeting = `undecryptable-${Date.now()}`;
    const a = await openParticipant(browser, joinUrl(meeting, 'Alice'), 'alice');
    await a.page.getByTestId('mic-toggle').waitFor();
    const m = await openParticipant(browser, joinUrl(meeting, 'Mallory', '&test=wrong-key'), 'mallory');
    await withOpenPages([a, m], async () => {
      const cannot = (texts: string[]) => texts.filter((t) => t.startsWith("error: Cannot decrypt Alice's"));
      await expect.poll(async () => cannot(await alertTexts(m.page)).length, { timeout: 20_000 }).toBe(1);
      expect(await m.page.locator('[data-testid=tile]').getAttribute('data-e2ee')).toBe('failing');
      expect(await m.page.getByTestId('alerts').textContent()).toContain("Cannot decrypt Alice's audio and video");
      // Still failing several stats ticks later: not repeated.
      await m.page.waitForTimeout(3000);
      expect(cannot(await alertTexts(m.page))).toHaveLength(1);
      expect(await m.page.locator('[data-testid=tile]').getAttribute('data-e2ee')).toBe('failing');
      await m.page.screenshot({ path: shot('decrypt-failure-alert.png') });

      // Mallory's worker takes keys unharmed from now on; a new epoch (the leader locks) gives her the right ones.
      await readSurface(m.page, ({ e2ee }) => e2ee.frames.configureForTest({ plaintext: false, corruptReceiveKeys: false }));
      await readSurface(a.page, ({ e2ee }) => e2ee.leaderAction('lock'));
      await expect
        .poll(async () => (await alertTexts(m.page)).filter((t) => t === "info: Alice's audio and video decrypt again.").length, {
          timeout: 20_000,
        })
        .toBe(1);
      await expect.poll(() => m.page.locator('[data-testid=tile]').getAttribute('data-e2ee'), { timeout: 10_000 }).toBe('ok');
      expect(cannot(await alertTexts(m.page))).toHaveLength(1);
    });
  });
});
