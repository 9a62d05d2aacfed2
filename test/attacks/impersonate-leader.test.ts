// Attack `impersonate-leader` (harness/adversary/impersonate-leader.ts): the server
// (1) lists Bob before Alice in later join results, (2) relays every roster,
// key message and commit of the leader first as if a non-leader had sent it,
// and (3) forges commits and next-epoch rosters from a non-leader. Alice
// joined first and leads. Every page must refuse the relabelled and forged
// messages (NOT_LEADER, with alerts), and all three must still agree that
// Alice leads, hold one epoch and one security code, and see each other.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { AdversaryServer } from '../../harness/adversary/server.ts';
import {
  ATTACK_TEST_TIMEOUT,
  alertsFor,
  decodedFrom,
  joinInOrder,
  launchBrowser,
  pageState,
  rejections,
  report,
  startAttackServer,
  withPages,
} from './helpers.ts';

let server: AdversaryServer;
let browser: Browser;
beforeAll(async () => {
  server = await startAttackServer('impersonate-leader');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('attack: impersonate-leader', () => {
  it(
    'clients keep the leader from the verified roster and refuse leader messages from anyone else',
    async () => {
      const meeting = `impersonate-${Date.now()}`;
      const pages = await joinInOrder(browser, server, meeting, ['Alice', 'Bob', 'Carol']);
      const [alice, bob, carol] = pages;
      await withPages(pages, async () => {
        for (const p of pages)
          await expect.poll(() => p.page.locator('[data-testid=tile][data-e2ee=ok]').count(), { timeout: 20_000 }).toBe(2);
        const stats = server.attack!.stats;
        await expect.poll(() => stats.count('forged-rosters'), { timeout: 10_000 }).toBeGreaterThan(0);
        const before = await Promise.all(pages.map((p) => decodedFrom(p.page, p === alice ? bob!.id : alice!.id)));
        await alice!.page.waitForTimeout(2000);
        const states = await Promise.all(pages.map((p) => pageState(p.page)));
        report(
          'impersonate-leader',
          server,
          pages.map((p, i) => ({ name: p.name, s: states[i]! })),
        );
        const [a, b, c] = states;

        // The attack happened: Carol's join result named Bob first; messages were relabelled and forged.
        expect(stats.roles[`claimed-first:${meeting}`]).toBe(bob!.id);
        expect(c!.joinPeers[0]).toBe(bob!.id);
        expect(stats.count('join-results-with-wrong-first')).toBeGreaterThan(0);
        for (const kind of ['relabelled-roster', 'relabelled-keys', 'relabelled-commit', 'forged-commits', 'forged-rosters']) {
          expect(stats.count(kind), kind).toBeGreaterThan(0);
        }

        // Detection: every relabelled or forged leader message is refused as NOT_LEADER, and shown.
        for (const [i, p] of pages.entries()) {
          const s = states[i]!;
          const sent = stats.perRecipient[p.id] ?? {};
          const expected = Object.values(sent).reduce((x, y) => x + y, 0);
          expect(expected, `${p.name} got relabelled or forged messages`).toBeGreaterThan(0);
          expect(rejections(s, 'NOT_LEADER'), `${p.name} refused each one`).toHaveLength(expected);
          expect(s.errors).toHaveLength(expected);
          for (const e of s.errors) expect(e.from).not.toBe(alice!.id);
          expect(alertsFor(s, 'NOT_LEADER').length).toBeGreaterThan(0);
        }
        // Bob and Carol each saw the real leader's messages relabelled as the other one.
        expect(rejections(b!, 'NOT_LEADER', carol!.id).length).toBeGreaterThan(0);
        expect(rejections(c!, 'NOT_LEADER', bob!.id).length).toBeGreaterThan(0);
        expect(alertsFor(c!, 'NOT_LEADER', 'Bob').length).toBeGreaterThan(0);

        // Nobody believed it: Alice leads everywhere (roster and UI), one epoch, one code.
        for (const s of states) {
          expect(s.leaderId).toBe(alice!.id);
          expect(s.roster[0]).toBe(alice!.id);
          expect(s.state).toBe('ok');
          expect(s.roster).toHaveLength(3);
        }
        for (const p of pages) {
          await expect(p.page.locator(`[data-testid=roster] li[data-participant="${alice!.id}"] .leader`).count()).resolves.toBe(1);
          await expect(p.page.locator('[data-testid=roster] .leader').count()).resolves.toBe(1);
        }
        expect(new Set(states.map((s) => s.epoch)).size).toBe(1);
        expect(new Set(states.map((s) => s.securityCode)).size).toBe(1);
        expect(a!.securityCode).toBe(a!.shownCode);
        // Media keeps flowing.
        // Polled rather than read once: the property is that frames keep decrypting, not a frame rate,
        // which a loaded 2-core machine can push below 10 fps for a few seconds.
        for (const [i, p] of pages.entries())
          await expect
            .poll(() => decodedFrom(p.page, p === alice ? bob!.id : alice!.id), { message: `${p.name} keeps decoding`, timeout: 10_000 })
            .toBeGreaterThan(before[i]! + 20);
      });
    },
    ATTACK_TEST_TIMEOUT,
  );
});
