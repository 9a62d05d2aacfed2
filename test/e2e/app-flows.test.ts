// The meeting app's everyday flows in real Chromium: mute, camera off, screen
// share (encrypted like the camera, in its own tile), the security panel, a
// one-on-one call refusing a third person, and the pre-join screen.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { RunningServer } from '../../server/app.ts';
import { openParticipant, resultsDir, videoFramesDecodedFrom, withOpenPages } from '../../harness/browser.ts';
import { e2eeSnapshot } from '../../harness/e2ee-page.ts';
import { linkFragment } from '../../harness/meeting-link.ts';
import { serverAndBrowser } from '../../harness/suite.ts';

let server: RunningServer;
let browser: Browser;
serverAndBrowser((s, b) => ([server, browser] = [s, b]));

const shot = (name: string): string => path.join(resultsDir(), name);

describe('meeting app flows', () => {
  it('shows the pre-join screen with a fingerprint, and a new meeting gets an unguessable ID', async () => {
    const prejoin = await openParticipant(browser, `${server.url}/`, 'prejoin');
    const { page } = prejoin;
    await withOpenPages([prejoin], async () => {
      await page.getByTestId('prejoin').waitFor();
      await expect.poll(() => page.getByTestId('prejoin-fingerprint').textContent()).toMatch(/^\d{5}( \d{5}){7}$/);
      await page.getByTestId('new-meeting').click();
      const id = await page.getByTestId('meeting-input').inputValue();
      expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
      // The link carries a fresh secret in its fragment (never sent to the server).
      const link = (await page.getByTestId('meeting-link').textContent()) ?? '';
      expect(link).toMatch(new RegExp(`\\?meeting=${id}#s=[A-Za-z0-9_-]{43}$`));
      await page.getByTestId('name-input').fill('Pat');
      await page.screenshot({ path: shot('prejoin.png') });
      await page.getByTestId('join').click();
      await page.getByTestId('e2ee-state').waitFor();
      await expect.poll(() => page.getByTestId('e2ee-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('ok');
      expect(new URL(page.url()).searchParams.get('meeting')).toBe(id);
      expect(new URL(page.url()).hash).toBe(new URL(link).hash);
    });
  });

  it('mute, camera off and screen share reach the other side; the shared screen decodes in its own tile', async () => {
    const meeting = `flows-${Date.now()}`;
    const a = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Alice&join=1${linkFragment(meeting)}`, 'alice');
    await a.page.getByTestId('mic-toggle').waitFor();
    const b = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Bob&join=1${linkFragment(meeting)}`, 'bob');
    await withOpenPages([a, b], async () => {
      // Alice mutes while Bob is still joining: the pause reaches Bob while his
      // consumer of her mic is being set up, and must not be lost.
      await a.page.getByTestId('mic-toggle').click();
      const bobsTileOfAlice = b.page.locator('[data-testid=tile]');
      await expect.poll(() => bobsTileOfAlice.getAttribute('data-e2ee'), { timeout: 15_000 }).toBe('ok');
      await expect.poll(() => bobsTileOfAlice.getAttribute('data-muted'), { timeout: 5000 }).toBe('true');
      expect(await a.page.getByTestId('mic-toggle').getAttribute('aria-pressed')).toBe('true');
      await a.page.getByTestId('mic-toggle').click();
      await expect.poll(() => bobsTileOfAlice.getAttribute('data-muted'), { timeout: 5000 }).toBe('false');
      // And in a settled call.
      await a.page.getByTestId('mic-toggle').click();
      await expect.poll(() => bobsTileOfAlice.getAttribute('data-muted'), { timeout: 5000 }).toBe('true');
      await a.page.getByTestId('mic-toggle').click();
      await expect.poll(() => bobsTileOfAlice.getAttribute('data-muted'), { timeout: 5000 }).toBe('false');

      await a.page.getByTestId('camera-toggle').click();
      await expect.poll(() => bobsTileOfAlice.evaluate((el) => el.classList.contains('camera-off')), { timeout: 5000 }).toBe(true);
      await a.page.getByTestId('camera-toggle').click();
      await expect.poll(() => bobsTileOfAlice.evaluate((el) => el.classList.contains('camera-off')), { timeout: 5000 }).toBe(false);

      await a.page.getByTestId('screen-toggle').click();
      const screenTile = b.page.locator('[data-testid=screen-tile]');
      await screenTile.waitFor({ timeout: 15_000 });
      await expect
        .poll(() => screenTile.locator('video').evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 15_000 })
        .toBeGreaterThan(0);
      const sa = await e2eeSnapshot(a.page);
      expect(sa.sent.encrypted).toBeGreaterThan(0);
      await b.page.screenshot({ path: shot('screen-share.png') });
      await a.page.getByTestId('screen-toggle').click();
      await expect.poll(() => screenTile.count(), { timeout: 10_000 }).toBe(0);
      // Camera video keeps decoding after the screen share stops (no black tile).
      // Counted on the camera's own stream: the screen stream's stats go away when its consumer is released.
      const aliceId = (await bobsTileOfAlice.getAttribute('data-participant'))!;
      const before = await videoFramesDecodedFrom(b.page, aliceId);
      await b.page.waitForTimeout(1500);
      const after = await videoFramesDecodedFrom(b.page, aliceId);
      expect(after).toBeGreaterThan(before + 10);

      await b.page.getByTestId('security-panel-toggle').click();
      const panel = b.page.getByTestId('security-panel');
      await expect.poll(() => panel.locator('[data-testid=roster] li').count()).toBe(2);
      expect(await panel.textContent()).toContain((await e2eeSnapshot(b.page)).securityCode);
      await b.page.screenshot({ path: shot('security-panel.png') });
    });
  });

  it('a one-on-one call refuses a third person with a clear message', async () => {
    const call = `call-${Date.now()}`;
    const url = (n: string) => `${server.url}/?meeting=${call}&mode=call&name=${n}&join=1${linkFragment(call)}`;
    const a = await openParticipant(browser, url('Ann'), 'ann');
    const b = await openParticipant(browser, url('Ben'), 'ben');
    const c = await openParticipant(browser, url('Cat'), 'cat');
    await withOpenPages([a, b, c], async () => {
      const refusal = c.page.getByTestId('join-error');
      await refusal.waitFor({ timeout: 15_000 });
      expect(await refusal.getAttribute('data-code')).toBe('CALL_FULL');
      expect(await refusal.textContent()).toContain('two people');
      await c.page.screenshot({ path: shot('call-full.png') });
      await expect.poll(() => a.page.locator('[data-testid=tile][data-e2ee=ok]').count(), { timeout: 15_000 }).toBe(1);
      const [sa, sb] = await Promise.all([e2eeSnapshot(a.page), e2eeSnapshot(b.page)]);
      expect(sa.securityCode).toBe(sb.securityCode);
      expect(await a.page.locator('.brand').textContent()).toContain('One-on-one call');
    });
  });
});
