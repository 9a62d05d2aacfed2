// Attack `fake-leader` (harness/adversary/fake-leader.ts), by the server alone,
// which holds no meeting link: each newcomer is told that a participant the
// server made up joined first, never receives the real leader's messages, and
// gets a roster signed by the server as that made-up leader instead. Before
// the link envelope, a newcomer accepted any signer as its first leader and
// sent camera and microphone under a key the server held.
//
// The newcomer must refuse the forged roster unread (NO_LINK_PROOF), show the
// made-up leader as outside the meeting, never be keyed by it, send no media
// frame (nothing encrypted, nothing in clear), and say on screen why it is
// still waiting. The others carry on. Run in an unlocked and in a locked
// meeting (the lock is a second defence, not the one that holds here).
//
// Control: the same attack run by an insider who holds the link gets the
// newcomer keyed by the made-up leader (its roster, its state, a security code
// unlike the others'), so the checks above would catch a newcomer that
// accepted it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { AdversaryServer } from '../../harness/adversary/server.ts';
import { unverifiedLabel } from '../../client/src/e2ee/names.ts';
import { readSurface } from '../../harness/test-surface.ts';
import {
  expectOnlyOwnKey,
  ATTACK_TEST_TIMEOUT,
  decodedFrom,
  joinInOrder,
  launchBrowser,
  pageState,
  rejections,
  report,
  startAttackServer,
  tileOf,
  withPages,
} from './helpers.ts';

let blind: AdversaryServer;
let insider: AdversaryServer;
let browser: Browser;
beforeAll(async () => {
  blind = await startAttackServer('fake-leader', [], { insider: false });
  insider = await startAttackServer('fake-leader');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await blind?.close();
  await insider?.close();
});

describe('attack: fake-leader, by the server alone (it holds no meeting link)', () => {
  for (const locked of [false, true]) {
    it(
      `${locked ? 'locked' : 'unlocked'} meeting: the newcomer refuses the made-up leader, is never keyed by it, sends no media and says why`,
      async () => {
        const meeting = `fake-leader-${locked ? 'locked' : 'open'}-${Date.now()}`;
        const [alice] = await joinInOrder(browser, blind, meeting, ['Alice']);
        if (locked) {
          await expect.poll(async () => (await pageState(alice!.page)).state, { timeout: 15_000 }).toBe('ok');
          await alice!.page.getByTestId('security-panel-toggle').click();
          await alice!.page.getByTestId('lock-toggle').check();
          await expect.poll(() => readSurface(alice!.page, ({ e2ee }) => e2ee.locked), { timeout: 5000 }).toBe(true);
        }
        const [bob] = await joinInOrder(browser, blind, meeting, ['Bob']);
        const pages = [alice!, bob!];
        await withPages(pages, async () => {
          const stats = blind.attack!.stats;
          const fake = stats.roles[`fake-leader:${meeting}`]!;
          expect(fake).toBeDefined();
          // The attack happened: Bob was told the made-up leader joined first, sent its roster, and denied Alice's messages.
          expect(stats.perRecipient[bob!.id]?.['fake-leader-listed']).toBe(1);
          await expect.poll(() => stats.perRecipient[bob!.id]?.['forged-roster'] ?? 0, { timeout: 10_000 }).toBe(1);
          await expect.poll(async () => rejections(await pageState(bob!.page), 'NO_LINK_PROOF', fake).length, { timeout: 10_000 }).toBe(1);
          // Longer than the orphan timeout and the re-announcements that follow it.
          await bob!.page.waitForTimeout(5000);
          const b = await pageState(bob!.page);
          const a = await pageState(alice!.page);
          report(`fake-leader (${locked ? 'locked' : 'unlocked'}, no link)`, blind, [
            { name: 'Alice', s: a },
            { name: 'Bob', s: b },
          ]);
          expect(stats.perRecipient[bob!.id]?.['withheld'] ?? 0).toBeGreaterThan(0);

          // Never keyed by the made-up leader, nor by Alice (the server withholds her messages): Bob
          // holds no key of anyone else's. After 2 s with nothing from Alice he leads a provisional
          // chain of his own (protocol.md §5), which he leads.
          expectOnlyOwnKey(b, bob!.id, [a]);
          expect(b.leaderId ?? '').not.toBe(fake);
          expect(b.roster).not.toContain(fake);
          // Nothing left Bob's browser in clear: frames without a key were dropped, the rest encrypted under his own key.
          expect(Object.values(b.sent.dropped).reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
          if (b.state === 'waiting-for-key') expect(b.sent.encrypted).toBe(0);
          // On screen: the made-up leader is outside the meeting, and Bob is told why he is still waiting.
          const tile = tileOf(b, fake);
          expect(tile?.inKey).toBe('false');
          expect(tile?.name).toBe(unverifiedLabel(fake));
          expect(tile?.note).toMatch(/^Outside this meeting/);
          if (b.state === 'waiting-for-key') expect(b.shownState).toMatch(/Waiting for key/);
          expect(b.alerts.some((x) => x.includes(`Ignored messages from ${unverifiedLabel(fake)}`) && x.includes('not sent'))).toBe(true);
          // The made-up leader is nobody to Alice either.
          expect(a.roster).not.toContain(fake);
          expect(await decodedFrom(alice!.page, bob!.id)).toBe(0);
        });
      },
      ATTACK_TEST_TIMEOUT,
    );
  }
});

describe('attack: fake-leader, by an insider holding the meeting link (control)', () => {
  it(
    "the newcomer accepts the made-up leader's roster: what holding the link allows, and what the checks above would catch",
    async () => {
      const meeting = `fake-leader-insider-${Date.now()}`;
      const pages = await joinInOrder(browser, insider, meeting, ['Alice', 'Bob']);
      const [, bob] = pages;
      await withPages(pages, async () => {
        const stats = insider.attack!.stats;
        const fake = stats.roles[`fake-leader:${meeting}`]!;
        await expect.poll(async () => (await pageState(bob!.page)).roster[0], { timeout: 15_000 }).toBe(fake);
        const b = await pageState(bob!.page);
        report('fake-leader (insider)', insider, [{ name: 'Bob', s: b }]);
        expect(rejections(b, 'NO_LINK_PROOF', fake)).toHaveLength(0);
        expect(b.roster).toContain(bob!.id);
        expect(b.state).toBe('ok');
        // A split view: Bob's security code is not Alice's, which is how people who compare codes catch it.
        const a = await pageState(pages[0]!.page);
        expect(b.securityCode).not.toBe(a.securityCode);
      });
    },
    ATTACK_TEST_TIMEOUT,
  );
});
