// Attack `name-swap` (harness/adversary/name-swap.ts): the server lies in what
// it says itself, join results and notices. Alice, Bob and Carol join in that
// order.
//
// - Alice's and Bob's names are swapped in every join result and join notice.
//   Every tile must show the name its member signed (protocol.md §3.1): the
//   tile carrying Alice's media (her participant ID, decrypted under the KID
//   of her roster entry) says "Alice" on every screen.
// - A made-up participant, "Erin", is announced to everyone. It never
//   announces, so it is outside every roster: its tile says it is unverified
//   and outside the key, and "Erin" appears nowhere on any screen.
// - Once Carol is keyed, she alone is told that Bob left. Bob stays in the
//   key (Carol's security code does not change), so her grid must keep his
//   tile, marked as not connected; and since no epoch without him follows,
//   Carol stops sending within 2 s of starting (protocol.md §7.5): the epoch
//   she would send under is held by someone she was told left. Bob decodes
//   nothing new from her; she still decodes him.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { AdversaryServer } from '../../harness/adversary/server.ts';
import { OUTSIDER_NAME } from '../../harness/adversary/name-swap.ts';
import { readSurface } from '../../harness/test-surface.ts';
import {
  ATTACK_TEST_TIMEOUT,
  decodedFrom,
  joinInOrder,
  launchBrowser,
  pageState,
  report,
  startAttackServer,
  tileOf,
  type Joined,
  type PageState,
  withPages,
} from './helpers.ts';

let server: AdversaryServer;
let browser: Browser;
beforeAll(async () => {
  server = await startAttackServer('name-swap');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface Seen {
  who: Joined;
  s: PageState;
  /** Roster index of the KID each participant's frames last decrypted under. */
  kidIndexOf: Record<string, number>;
  /** Everything the page shows, as text. */
  text: string;
}

interface Observation {
  meeting: string;
  alice: Joined;
  bob: Joined;
  carol: Joined;
  seen: Seen[];
  /** Video Bob decoded from Carol, and Carol from Bob, once Carol stopped sending (2.5 s apart). */
  after: { bobFromCarol: [number, number]; carolFromBob: [number, number] };
  carolCodeBefore: string;
}

let observation: Promise<Observation> | undefined;
function observe(): Promise<Observation> {
  observation ??= (async () => {
    const meeting = `name-swap-${Date.now()}`;
    const pages = await joinInOrder(browser, server, meeting, ['Alice', 'Bob', 'Carol']);
    const [alice, bob, carol] = pages as [Joined, Joined, Joined];
    return await withPages(pages, async () => {
      const stats = server.attack.stats;
      // Everyone is keyed with everyone, and Carol has been told Bob left.
      for (const p of pages) await expect.poll(async () => (await pageState(p.page)).roster.length, { timeout: 20_000 }).toBe(3);
      await expect.poll(() => stats.count('false-leaves'), { timeout: 15_000 }).toBe(1);
      const carolCodeBefore = (await pageState(carol.page)).securityCode;
      for (const [p, other] of [
        [alice, bob],
        [bob, alice],
        [carol, alice],
        [carol, bob],
      ] as const) {
        await expect.poll(() => decodedFrom(p.page, other.id), { timeout: 15_000 }).toBeGreaterThan(20);
      }
      // Carol started sending under the epoch Bob holds, then stopped (the stop rule).
      await expect.poll(async () => (await pageState(carol.page)).state, { timeout: 15_000 }).toBe('rekeying');
      await alice.page.waitForTimeout(500); // frames already in flight
      const before = { bobFromCarol: await decodedFrom(bob.page, carol.id), carolFromBob: await decodedFrom(carol.page, bob.id) };
      await alice.page.waitForTimeout(2500);
      const after = {
        bobFromCarol: [before.bobFromCarol, await decodedFrom(bob.page, carol.id)] as [number, number],
        carolFromBob: [before.carolFromBob, await decodedFrom(carol.page, bob.id)] as [number, number],
      };
      const seen = await Promise.all(
        pages.map(async (who) => ({
          who,
          s: await pageState(who.page),
          kidIndexOf: await readSurface(who.page, ({ e2ee }) => {
            const out: Record<string, number> = {};
            for (const [id, r] of e2ee.frames.receive) if (r.lastKid !== undefined) out[id] = Number((BigInt(r.lastKid) >> 2n) & 0x3fffn); // kidIndex (shared/e2ee/kid.ts)
            return out;
          }),
          text: await who.page.evaluate(() => document.body.innerText),
        })),
      );
      report(
        'name-swap',
        server,
        seen.map(({ who, s }) => ({ name: who.name, s })),
      );
      return { meeting, alice, bob, carol, seen, after, carolCodeBefore };
    });
  })();
  return observation;
}

describe('attack: name-swap', () => {
  it(
    'every tile shows the name its member signed, not the name the server gave it',
    async () => {
      const { meeting, alice, bob, carol, seen } = await observe();
      const stats = server.attack.stats;
      // The attack happened: Alice and Bob were announced under each other's names.
      expect(stats.roles[`swapped-a:${meeting}`]).toBe(alice.id);
      expect(stats.roles[`swapped-b:${meeting}`]).toBe(bob.id);
      expect(stats.count('swapped-join-notices')).toBeGreaterThan(0);
      expect(stats.perRecipient[carol.id]?.['swapped-join-result']).toBe(2);

      const signedName: Record<string, string> = { [alice.id]: 'Alice', [bob.id]: 'Bob', [carol.id]: 'Carol' };
      for (const { who, s, kidIndexOf } of seen) {
        for (const other of [alice, bob, carol]) {
          if (other === who) continue;
          const tile = tileOf(s, other.id);
          expect(tile, `${who.name} has a tile for ${other.name}`).toBeDefined();
          // Whose media the tile carries: frames decrypted under the KID of this roster entry.
          expect(s.roster[kidIndexOf[other.id]!], `${who.name}: ${other.name}'s frames carry ${other.name}'s KID`).toBe(other.id);
          expect(tile!.name, `${who.name}'s tile carrying ${other.name}'s media`).toBe(signedName[other.id]);
          expect(tile!.inKey).toBe('true');
        }
      }
    },
    ATTACK_TEST_TIMEOUT,
  );

  it(
    'a participant outside the roster is shown as unverified and outside the key, never under the server-given name',
    async () => {
      const { meeting, seen } = await observe();
      const outsider = server.attack.stats.roles[`outsider:${meeting}`]!;
      for (const { who, s, text } of seen) {
        expect(server.attack.stats.perRecipient[who.id]?.['outsider-joined'], `${who.name} was told "${OUTSIDER_NAME}" joined`).toBe(1);
        const tile = tileOf(s, outsider);
        expect(tile, `${who.name} shows the outsider`).toBeDefined();
        expect(tile!.inKey).toBe('false');
        expect(tile!.name).toMatch(/^Unverified participant #\d{4}$/);
        expect(tile!.note).toMatch(/not in the meeting key/i);
        expect(tile!.e2ee).toBe('waiting-for-key');
        expect(s.roster).not.toContain(outsider);
        expect(text, `${who.name}'s screen`).not.toContain(OUTSIDER_NAME);
      }
    },
    ATTACK_TEST_TIMEOUT,
  );

  it(
    'a member the server falsely says left keeps its tile, marked, while it still holds the key',
    async () => {
      const { meeting, alice, bob, carol, seen, after, carolCodeBefore } = await observe();
      const stats = server.attack.stats;
      expect(stats.roles[`falsely-left:${meeting}`]).toBe(bob.id);
      expect(stats.roles[`told-left:${meeting}`]).toBe(carol.id);
      const [a, b, c] = seen.map((x) => x.s) as [PageState, PageState, PageState];

      // Bob is still in Carol's key: same roster and security code as everyone's, unchanged.
      expect(c.roster).toContain(bob.id);
      expect(c.securityCode).toBe(carolCodeBefore);
      expect(new Set([a.securityCode, b.securityCode, c.securityCode]).size).toBe(1);
      // ...so Carol does not send under that key: Bob decodes nothing new from her, she still decodes him, and she says so.
      expect(after.bobFromCarol[1]).toBeLessThanOrEqual(after.bobFromCarol[0] + 2);
      expect(after.carolFromBob[1]).toBeGreaterThan(after.carolFromBob[0] + 10);
      expect(c.state).toBe('rekeying');
      expect(c.shownState).toMatch(/not sending/i);

      // So Carol's grid keeps his tile, named as he signed, marked as not connected but in the key.
      const tile = tileOf(c, bob.id);
      expect(tile, "Carol's grid keeps Bob's tile").toBeDefined();
      expect(tile!.name).toBe('Bob');
      expect(tile!.inKey).toBe('true');
      expect(tile!.presence).toBe('absent');
      expect(tile!.note).toMatch(/still holds the meeting key/i);
      // The others were told nothing: Bob is present there.
      expect(tileOf(a, bob.id)?.presence).toBe('present');
      // Carol's grid is exactly the roster (minus herself) plus the outsider.
      expect(c.tiles.map((t) => t.participant).sort()).toEqual([alice.id, bob.id, stats.roles[`outsider:${meeting}`]!].sort());
    },
    ATTACK_TEST_TIMEOUT,
  );
});
