// Attack `swap`: the server replaces the second joiner's identity key and
// X25519 key in its announcement with keys it holds (harness/adversary/swap.ts).
// Alice leads; Bob is the victim; Carol joins after him. Alice, who received
// Bob's swapped announcement, must refuse it (BAD_SIGNATURE, with an alert
// naming Bob); nobody may key Bob: he stays "waiting for key", absent from
// Alice's and Carol's verified rosters, with no security code of his own, and
// decodes nothing. Alice and Carol form the meeting between themselves and
// see each other's video.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { AdversaryServer } from '../../harness/adversary/server.ts';
import { unverifiedLabel } from '../../client/src/e2ee/names.ts';
import {
  expectOnlyOwnKey,
  ATTACK_TEST_TIMEOUT,
  alertsFor,
  decodedFrom,
  decodedTotal,
  joinInOrder,
  launchBrowser,
  pageState,
  rejections,
  report,
  startAttackServer,
  tileOf,
  withPages,
} from './helpers.ts';

let server: AdversaryServer;
let browser: Browser;
beforeAll(async () => {
  server = await startAttackServer('swap');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('attack: swap', () => {
  it(
    'an announcement whose keys were swapped in transit is refused and the victim is never keyed',
    async () => {
      const meeting = `swap-${Date.now()}`;
      const pages = await joinInOrder(browser, server, meeting, ['Alice', 'Bob', 'Carol']);
      const [alice, bob, carol] = pages;
      await withPages(pages, async () => {
        // Alice and Carol key each other.
        for (const [p, other] of [
          [alice!, carol!],
          [carol!, alice!],
        ] as const) {
          await expect.poll(async () => tileOf(await pageState(p.page), other.id)?.e2ee, { timeout: 20_000 }).toBe('ok');
          await expect.poll(() => decodedFrom(p.page, other.id), { timeout: 15_000 }).toBeGreaterThan(20);
        }
        await bob!.page.waitForTimeout(1000);
        const states = await Promise.all(pages.map((p) => pageState(p.page)));
        report(
          'swap',
          server,
          pages.map((p, i) => ({ name: p.name, s: states[i]! })),
        );
        const [a, b, c] = states;

        // The attack happened, to Bob.
        const stats = server.attack!.stats;
        expect(stats.roles[`victim:${meeting}`]).toBe(bob!.id);
        expect(stats.count('swapped-announce')).toBeGreaterThan(0);

        // Detection: whoever got Bob's swapped announcement (Alice, the leader; Bob
        // announced before Carol joined) refuses each copy and says so.
        expect(stats.perRecipient[alice!.id]?.['swapped-announce']).toBeGreaterThan(0);
        for (const [p, s] of [
          [alice!, a!],
          [carol!, c!],
        ] as const) {
          const sent = stats.perRecipient[p.id]?.['swapped-announce'] ?? 0;
          const bad = rejections(s, 'BAD_SIGNATURE', bob!.id);
          expect(bad).toHaveLength(sent);
          for (const e of bad) expect(e.message).toMatch(/announcement signature/);
          // Bob never reaches the roster, so the alert names him as unverified (his name would be the server's word).
          if (sent > 0) expect(alertsFor(s, 'BAD_SIGNATURE', unverifiedLabel(bob!.id)).length).toBeGreaterThan(0);
          // Bob is not in the key: not in the verified roster, tile waiting for key.
          expect(s.roster).not.toContain(bob!.id);
          expect(s.rosterUi.map((r) => r.participant)).not.toContain(bob!.id);
          expect(tileOf(s, bob!.id)?.e2ee).toBe('waiting-for-key');
        }
        // The honest pair agrees; the victim holds no key of theirs and none of their codes (at most
        // a provisional chain of its own, once they stayed silent to it for 2 s).
        expect(a!.securityCode).toBe(c!.securityCode);
        expect([...a!.roster].sort()).toEqual([alice!.id, carol!.id].sort());
        expectOnlyOwnKey(b!, bob!.id, [a!, c!]);
        for (const id of [alice!.id, carol!.id]) expect(tileOf(b!, id)?.e2ee).not.toBe('ok');

        // No media crosses to or from the victim: Bob decodes nothing, and sends nothing anyone decrypts.
        expect(await decodedTotal(bob!.page)).toBe(0);
        expect(Object.values(b!.received).reduce((n, r) => n + r.decrypted, 0)).toBe(0);
        expect(a!.received[bob!.id]?.decrypted ?? 0).toBe(0);
        expect(c!.received[bob!.id]?.decrypted ?? 0).toBe(0);
        expect(await decodedFrom(alice!.page, bob!.id)).toBe(0);
        expect(await decodedFrom(carol!.page, bob!.id)).toBe(0);
      });
    },
    ATTACK_TEST_TIMEOUT,
  );
});
