// Encrypted chat between pages, a tampered chat blob rejected, and the
// leader's lock / lobby / admit / remove flows in real Chromium.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { RunningServer } from '../../server/app.ts';
import type { RelayInterceptor } from '../../server/connection.ts';
import { inboundStats, launchBrowser, openParticipant, resultsDir, totals } from '../../harness/browser.ts';
import { e2eeSnapshot } from '../../harness/e2ee-page.ts';
import { startTestBuildServer } from '../../harness/server.ts';
import { readSurface } from '../../harness/test-surface.ts';
import { linkFragment, linkSecretFor } from '../../harness/meeting-link.ts';
import { asInsider } from '../../harness/adversary/insider.ts';
import { AttackStats } from '../../harness/adversary/common.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { createLogger } from '../../server/log.ts';

let server: RunningServer;
let browser: Browser;
/**
 * Flips one character inside chat blobs once armed. Relayed payloads are sealed
 * with the meeting link, so the tamperer plays an insider who holds the link
 * (asInsider): it opens each payload, tampers with the chat blob inside and
 * seals it again, so what is tested is the chat's own authentication.
 */
let tamperChat = false;
let tampered = 0;
const tamperer: RelayInterceptor = {
  relay(_room, _from, to, payload) {
    if (tamperChat && payload.includes('"chat"')) {
      // Flip a character in the middle of the base64url ciphertext.
      const i = Math.floor(payload.length / 2);
      const c = payload[i] === 'A' ? 'B' : 'A';
      tampered++;
      return [{ to, payload: payload.slice(0, i) + c + payload.slice(i + 1) }];
    }
    return [{ to, payload }];
  },
};

beforeAll(async () => {
  await initCrypto();
  const interceptor = asInsider(
    { relayInterceptor: tamperer, stats: new AttackStats('chat-tamper', createLogger('warn')) },
    linkSecretFor,
  ).relayInterceptor;
  server = await startTestBuildServer([], { relayInterceptor: interceptor });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const shot = (name: string): string => path.join(resultsDir(), name);

describe('encrypted chat', () => {
  it('delivers the same text to the other page and rejects a tampered blob', async () => {
    const meeting = `chat-${Date.now()}`;
    const a = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Alice&join=1${linkFragment(meeting)}`, 'alice');
    const b = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Bob&join=1${linkFragment(meeting)}`, 'bob');
    try {
      for (const p of [a, b])
        await expect.poll(() => p.page.locator('[data-testid=tile][data-e2ee=ok]').count(), { timeout: 30_000 }).toBe(1);
      await a.page.getByTestId('chat-toggle').click();
      await b.page.getByTestId('chat-toggle').click();
      const text = 'Meet at 10:30 — bring the draft ✓';
      await a.page.getByTestId('chat-input').fill(text);
      await a.page.getByTestId('chat-input').press('Enter');
      const bobLog = b.page.getByTestId('chat-log');
      await expect.poll(() => bobLog.locator('li .text').last().textContent(), { timeout: 5000 }).toBe(text);
      expect(await bobLog.locator('li .sender').last().textContent()).toBe('Alice');
      expect(await a.page.getByTestId('chat-input').inputValue()).toBe('');
      await b.page.screenshot({ path: shot('chat.png') });

      tamperChat = true;
      await a.page.getByTestId('chat-input').fill('this one is tampered with');
      await a.page.getByTestId('chat-input').press('Enter');
      await expect
        .poll(async () => (await e2eeSnapshot(b.page)).errors.filter((c) => c.startsWith('CHAT_')).length, { timeout: 5000 })
        .toBeGreaterThan(0);
      tamperChat = false;
      expect(tampered).toBeGreaterThan(0);
      expect(await bobLog.locator('li').count()).toBe(1);
      expect(await bobLog.textContent()).not.toContain('tampered');
      expect(await b.page.getByTestId('alerts').textContent()).toMatch(/CHAT_/);
    } finally {
      tamperChat = false;
      await a.page.context().close();
      await b.page.context().close();
    }
  });
});

describe('admission', () => {
  it('a locked meeting keeps a newcomer in the lobby without a key until the leader admits them; the leader can remove', async () => {
    const meeting = `lobby-${Date.now()}`;
    const lead = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Lea&join=1${linkFragment(meeting)}`, 'lea');
    const bob = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Bob&join=1${linkFragment(meeting)}`, 'bob');
    let nina: Awaited<ReturnType<typeof openParticipant>> | undefined;
    try {
      await expect.poll(() => lead.page.locator('[data-testid=tile][data-e2ee=ok]').count(), { timeout: 30_000 }).toBe(1);
      await lead.page.getByTestId('security-panel-toggle').click();
      await lead.page.getByTestId('lock-toggle').check();
      await expect.poll(() => readSurface(lead.page, ({ e2ee }) => e2ee.locked), { timeout: 5000 }).toBe(true);

      nina = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Nina&join=1${linkFragment(meeting)}`, 'nina');
      const lobby = nina.page.getByTestId('lobby');
      await lobby.waitFor({ state: 'visible', timeout: 15_000 });
      await nina.page.screenshot({ path: shot('lobby.png') });
      const waiting = lead.page.getByTestId('waiting-list');
      await waiting.waitFor({ timeout: 10_000 });
      expect(await waiting.textContent()).toContain('Nina');
      await lead.page.screenshot({ path: shot('lobby-leader.png') });
      // In the lobby: no key, so nothing decrypts and nothing is sent. Longer
      // than the 5 s the client holds new video for its keys, so the video is
      // resumed undecryptable and must recover once Nina is admitted.
      await nina.page.waitForTimeout(5500);
      const waitingSnap = await e2eeSnapshot(nina.page);
      expect(waitingSnap.state).toBe('lobby');
      expect(waitingSnap.epoch).toBe(0);
      expect(waitingSnap.sent.encrypted).toBe(0);
      expect(Object.values(waitingSnap.received).reduce((n, s) => n + s.decrypted, 0)).toBe(0);

      await lead.page.getByTestId('admit').click();
      await expect.poll(() => nina!.page.locator('[data-testid=tile][data-e2ee=ok]').count(), { timeout: 15_000 }).toBe(2);
      await expect.poll(() => lobby.isVisible(), { timeout: 10_000 }).toBe(false);
      await expect.poll(async () => totals(await inboundStats(nina!.page)).videoFramesDecoded, { timeout: 10_000 }).toBeGreaterThan(10);
      const [sl, sb, sn] = await Promise.all([e2eeSnapshot(lead.page), e2eeSnapshot(bob.page), e2eeSnapshot(nina.page)]);
      expect(sn.securityCode).toBe(sl.securityCode);
      expect(sb.securityCode).toBe(sl.securityCode);
      expect(sl.roster).toContain(sn.selfId);

      // Remove Bob: the next epoch excludes him and his page says so.
      const epochBefore = sl.epoch;
      await lead.page.locator(`[data-testid=roster] li[data-participant="${sb.selfId}"] [data-testid=remove]`).click();
      await expect.poll(async () => (await e2eeSnapshot(lead.page)).epoch, { timeout: 5000 }).toBeGreaterThan(epochBefore);
      const after = await e2eeSnapshot(lead.page);
      expect(after.roster).not.toContain(sb.selfId);
      await bob.page.getByTestId('end-screen').waitFor({ timeout: 10_000 });
      expect(await bob.page.getByTestId('end-screen').textContent()).toContain('removed');
      await expect.poll(async () => (await e2eeSnapshot(nina!.page)).securityCode, { timeout: 5000 }).toBe(after.securityCode);
    } finally {
      for (const p of [lead, bob, nina]) await p?.page.context().close();
    }
  });
});
