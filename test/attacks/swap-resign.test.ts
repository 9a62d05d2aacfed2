// Attack `swap-resign` (harness/adversary/swap-resign.ts): the second joiner's
// announcement is replaced in transit by one with the same ID and name but
// the server's identity and X25519 keys, validly signed by the server. Alice
// leads, Bob is the victim, Carol is honest.
//
// What the clients do detect (first check): Bob finds that the roster's entry
// for him is not his announcement (ROSTER_SELF_MISMATCH, with an alert) and
// stays unkeyed, without a security code, so comparing codes exposes the
// split; the fingerprint Alice and Carol see for "Bob" is not Bob's own; Bob
// decodes nothing; Alice and Carol keep seeing each other.
//
// The documented limit (second check): in an unlocked meeting the server's
// "Bob" is keyed (trust on first use); a member who verified the real Bob
// sees it flagged as an identity change.
// Nothing on the wire tells the re-signed announcement from Bob's (trust on
// first use of a newcomer's key, as for the own-key ghost), so Alice keys it;
// the server then acks as Bob and decrypts Alice's and Carol's audio.
//
// All of that needs the meeting link: the attack above runs as an insider who
// holds it (harness/adversary/insider.ts). The server alone can only put an
// announcement that no link seals in place of Bob's first relay: everyone
// refuses it unread, and the server obtains no key (last check).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { AdversaryServer } from '../../harness/adversary/server.ts';
import { unverifiedLabel } from '../../client/src/e2ee/names.ts';
import { readSurface } from '../../harness/test-surface.ts';
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
  type PageState,
  withPages,
} from './helpers.ts';

let server: AdversaryServer;
let blind: AdversaryServer;
let browser: Browser;
beforeAll(async () => {
  server = await startAttackServer('swap-resign');
  blind = await startAttackServer('swap-resign', [], { insider: false });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await blind?.close();
});

interface Observation {
  meeting: string;
  ids: { alice: string; bob: string; carol: string };
  a: PageState;
  b: PageState;
  c: PageState;
  bobDecoded: number;
  honest: { aliceFromCarol: number; carolFromAlice: number };
}

let observation: Promise<Observation> | undefined;
function observe(): Promise<Observation> {
  observation ??= (async () => {
    const meeting = `swap-resign-${Date.now()}`;
    const pages = await joinInOrder(browser, server, meeting, ['Alice', 'Bob', 'Carol']);
    const [alice, bob, carol] = pages;
    return await withPages(pages, async () => {
      for (const [p, other] of [
        [alice!, carol!],
        [carol!, alice!],
      ] as const) {
        await expect.poll(async () => tileOf(await pageState(p.page), other.id)?.e2ee, { timeout: 20_000 }).toBe('ok');
        await expect.poll(() => decodedFrom(p.page, other.id), { timeout: 15_000 }).toBeGreaterThan(20);
      }
      await expect
        .poll(async () => rejections(await pageState(bob!.page), 'ROSTER_SELF_MISMATCH').length, { timeout: 10_000 })
        .toBeGreaterThan(0);
      await bob!.page.waitForTimeout(1500);
      // Alice verified the real Bob in an earlier meeting: her device knows his identity key.
      const bobKey = await readSurface(bob!.page, ({ e2ee }) => Array.from(e2ee.identity.publicKey));
      await readSurface(
        alice!.page,
        ({ e2ee, meeting }, k) => {
          e2ee.verified.set(new Uint8Array(k), 'Bob', true);
          meeting.changed();
        },
        bobKey,
      );
      await alice!.page.waitForTimeout(700);
      const [a, b, c] = await Promise.all(pages.map((p) => pageState(p.page)));
      report('swap-resign', server, [
        { name: 'Alice', s: a! },
        { name: 'Bob', s: b! },
        { name: 'Carol', s: c! },
      ]);
      return {
        meeting,
        ids: { alice: alice!.id, bob: bob!.id, carol: carol!.id },
        a: a!,
        b: b!,
        c: c!,
        bobDecoded: await decodedTotal(bob!.page),
        honest: { aliceFromCarol: await decodedFrom(alice!.page, carol!.id), carolFromAlice: await decodedFrom(carol!.page, alice!.id) },
      };
    });
  })();
  return observation;
}

describe('attack: swap-resign, by the server alone (it holds no meeting link)', () => {
  it(
    'the swapped announcement is refused unread: the server is never keyed and decrypts nothing, and the real Bob is keyed',
    async () => {
      const meeting = `swap-resign-blind-${Date.now()}`;
      const pages = await joinInOrder(browser, blind, meeting, ['Alice', 'Bob', 'Carol']);
      const [alice, bob, carol] = pages;
      await withPages(pages, async () => {
        const stats = blind.attack!.stats;
        for (const [p, other] of [
          [alice!, carol!],
          [carol!, alice!],
        ] as const) {
          await expect.poll(async () => tileOf(await pageState(p.page), other.id)?.e2ee, { timeout: 20_000 }).toBe('ok');
          await expect.poll(() => decodedFrom(p.page, other.id), { timeout: 15_000 }).toBeGreaterThan(20);
        }
        // Bob announces again (nobody keyed him), and the real Bob is keyed.
        await expect.poll(async () => (await pageState(bob!.page)).state, { timeout: 15_000 }).toBe('ok');
        await expect.poll(async () => tileOf(await pageState(alice!.page), bob!.id)?.e2ee, { timeout: 10_000 }).toBe('ok');
        const [a, b, c] = await Promise.all(pages.map((p) => pageState(p.page)));
        report('swap-resign (no link)', blind, [
          { name: 'Alice', s: a! },
          { name: 'Bob', s: b! },
          { name: 'Carol', s: c! },
        ]);
        // The attack happened: Bob's first relay reached Alice replaced by the server's announcement.
        expect(stats.roles[`victim:${meeting}`]).toBe(bob!.id);
        expect(stats.perRecipient[alice!.id]?.['swapped-announce']).toBe(1);
        expect(rejections(a!, 'NO_LINK_PROOF', bob!.id)).toHaveLength(1);
        // The server got nothing.
        expect(stats.count('rosters-listing-impostor')).toBe(0);
        expect(stats.count('keys-obtained')).toBe(0);
        expect(stats.count('frames-decrypted-by-server')).toBe(0);
        // The one keyed as "Bob" is Bob himself: the fingerprint others list for him is his own, and all three agree.
        for (const s of [a!, c!]) {
          expect(s.rosterUi.find((r) => r.participant === bob!.id)?.fingerprint).toBe(b!.ownFingerprint);
          expect(tileOf(s, bob!.id)?.note).toBe('');
        }
        expect(new Set([a!, b!, c!].map((s) => s.securityCode)).size).toBe(1);
      });
    },
    ATTACK_TEST_TIMEOUT,
  );
});

describe('attack: swap-resign, by an insider holding the meeting link', () => {
  it(
    'the victim refuses the roster carrying the swapped keys, stays unkeyed, and the swap is visible in codes and fingerprints',
    async () => {
      const { meeting, ids, a, b, c, bobDecoded, honest } = await observe();
      const stats = server.attack!.stats;
      // The attack happened: Bob's announcement reached Alice re-signed with the server's key.
      expect(stats.roles[`victim:${meeting}`]).toBe(ids.bob);
      expect(stats.perRecipient[ids.alice]?.['swapped-announce']).toBeGreaterThan(0);

      // Detection by the victim.
      const mismatch = rejections(b, 'ROSTER_SELF_MISMATCH', ids.alice);
      expect(mismatch.length).toBeGreaterThan(0);
      // Bob holds no roster, so nobody has a name he can trust: the alert names Alice as unverified.
      expect(alertsFor(b, 'ROSTER_SELF_MISMATCH', unverifiedLabel(ids.alice)).length).toBeGreaterThan(0);
      expectOnlyOwnKey(b, ids.bob, [a, c]);
      expect(bobDecoded).toBe(0);
      // Visible to anyone who compares: the fingerprint listed for "Bob" is not Bob's.
      for (const s of [a, c]) {
        expect(s.rosterUi.map((r) => r.participant)).toEqual(s.roster);
        const listed = s.rosterUi.find((r) => r.participant === ids.bob);
        if (listed) expect(listed.fingerprint).not.toBe(b.ownFingerprint);
      }
      expect(b.ownFingerprint).toMatch(/^\d{5}( \d{5}){7}$/);
      // The honest pair still has one key and sees each other.
      expect(a.securityCode).toBe(c.securityCode);
      expect(honest.aliceFromCarol).toBeGreaterThan(20);
      expect(honest.carolFromAlice).toBeGreaterThan(20);
    },
    ATTACK_TEST_TIMEOUT,
  );

  // Limit, not a pass: nothing on the wire tells the re-signed announcement
  // from a newcomer's (trust on first use), so in an unlocked meeting Alice keys
  // the server's "Bob" and the server can decrypt (counted and reported). What
  // catches it: the real Bob is left unkeyed with an alert (first test), and a
  // member who ever verified the real Bob sees "identity changed" on his tile.
  it(
    'a member who verified the real Bob sees the server\'s "Bob" flagged as an identity change',
    async () => {
      const { ids, a } = await observe();
      const stats = server.attack!.stats;
      console.log(
        `[swap-resign] (documented limit of an unlocked meeting, for a link holder) keys obtained by the server ${stats.count('keys-obtained')}, ` +
          `audio frames it decrypted ${stats.count('frames-decrypted-by-server')}`,
      );
      const tile = tileOf(a, ids.bob);
      console.log(`[swap-resign] Alice's tile for Bob: ${JSON.stringify(tile)} roster UI ${JSON.stringify(a.rosterUi)}`);
      expect(tile, 'Alice has a tile for "Bob"').toBeDefined();
      if (a.roster.includes(ids.bob)) {
        expect(tile!.verified).toBe('identity-changed');
        expect(a.rosterUi.find((r) => r.participant === ids.bob)?.verified).toBe('identity-changed');
      } else {
        expect(tile!.e2ee).toBe('waiting-for-key');
      }
    },
    ATTACK_TEST_TIMEOUT,
  );
});
