// Three Chromium pages in a meeting lose the server (it restarts, or every
// socket is cut at once) and rejoin on their own: a new meeting instance,
// whose epochs and KIDs start over. Each page must start from fresh frame keys
// (no KID_CONFLICT with the old instance), re-key, and decode the others again.
// Then the server reports that Carol left while she stays connected (it could
// equally keep forwarding media to her): Alice and Bob re-key without her, and
// Carol, who still holds the previous epoch's keys, decrypts nothing sent after.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/app.ts';
import { cameraOverride, launchBrowser, openParticipant, videoFramesDecodedFrom, withOpenPages } from '../../harness/browser.ts';
import { e2eeSnapshot, type E2eeSnapshot } from '../../harness/e2ee-page.ts';
import { startTestBuildServer } from '../../harness/server.ts';
import { readSurface, waitForSurface } from '../../harness/test-surface.ts';
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

/** The server process goes away and comes back on the same port: every meeting starts a new instance. */
async function restartServer(): Promise<void> {
  const port = server.port;
  await server.close();
  server = await startTestBuildServer(['--port', String(port)]);
}

/** Every signaling connection drops at once; the server stays up. */
async function cutEverySocket(): Promise<void> {
  for (const c of [...server.sessions]) c.disconnect('INTERNAL', 'test: every connection cut at once');
}

/** Frames the page dropped, by reason, summed over every sender and our own send side. */
const dropsOf = (s: E2eeSnapshot, from?: string): number =>
  Object.entries(s.received)
    .filter(([id]) => from === undefined || id === from)
    .reduce((n, [, r]) => n + Object.values(r.dropped).reduce((a, b) => a + b, 0), 0);
const sendDrops = (s: E2eeSnapshot): number => Object.values(s.sent.dropped).reduce((a, b) => a + b, 0);

/** What Carol decrypted from the others so far. */
const decryptedBy = (page: Page, ids: string[]): Promise<number> =>
  readSurface(page, ({ e2ee }, who) => who.reduce((n, id) => n + (e2ee.frames.receive.get(id)?.decrypted ?? 0), 0), ids);

const kidConflicts = (logs: string[]): string[] => logs.filter((l) => l.includes('KID_CONFLICT'));

describe.each([
  ['the server restarts', restartServer],
  ['every socket drops at once', cutEverySocket],
] as const)('rejoin after %s', (_what, interrupt) => {
  it('starts from fresh frame keys, re-keys, and a member reported gone cannot decrypt what follows', { timeout: 90_000 }, async () => {
    const meeting = `rejoin-${Date.now()}`;
    const url = (n: string) => `${server.url}/?meeting=${meeting}&name=${n}&join=1${linkFragment(meeting)}`;
    const opts = { initScripts: [cameraOverride('320x180@15')] };
    const a = await openParticipant(browser, url('Alice'), 'alice', opts);
    const b = await openParticipant(browser, url('Bob'), 'bob', opts);
    const c = await openParticipant(browser, url('Carol'), 'carol', opts);
    const pages = [a, b, c];
    await withOpenPages(pages, async () => {
      for (const p of pages) {
        await expect.poll(() => p.page.locator('[data-testid=tile][data-e2ee=ok]').count(), { timeout: 20_000 }).toBe(2);
      }
      const oldIds = (await Promise.all(pages.map((p) => e2eeSnapshot(p.page)))).map((s) => s.selfId);

      await interrupt();

      // Each page rejoins by itself as a new participant, and all three share a
      // committed epoch of the new instance that their workers send under.
      for (const [i, p] of pages.entries()) {
        await waitForSurface(
          p.page,
          ({ meeting: m, e2ee }, old) =>
            m.phase === 'joined' && m.join?.participantId !== old && e2ee.roster.length === 3 && e2ee.shownState === 'ok',
          oldIds[i]!,
          { timeout: 20_000 },
        );
      }
      await expect
        .poll(
          async () => new Set((await Promise.all(pages.map((p) => e2eeSnapshot(p.page)))).map((s) => `${s.epoch} ${s.securityCode}`)).size,
          {
            timeout: 10_000,
          },
        )
        .toBe(1);
      const rejoined = await Promise.all(pages.map((p) => e2eeSnapshot(p.page)));
      const [aId, bId, cId] = rejoined.map((s) => s.selfId) as [string, string, string];
      // Everyone decodes both others again.
      for (const [i, p] of pages.entries()) {
        for (const other of [aId, bId, cId].filter((_, j) => j !== i)) {
          await expect.poll(() => videoFramesDecodedFrom(p.page, other), { timeout: 10_000 }).toBeGreaterThan(15);
        }
      }
      for (const p of pages) expect(kidConflicts(p.logs)).toEqual([]);

      // The server tells Alice and Bob that Carol left; Carol stays connected and consuming.
      const before = rejoined[0]!;
      for (const s of server.sessions) {
        if (s.participantId === aId || s.participantId === bId) s.send({ type: 'participant-left', participantId: cId });
      }
      await Promise.all(
        [a, b].map((p) =>
          waitForSurface(p.page, ({ e2ee }, e) => e2ee.epoch > e && e2ee.roster.length === 2, before.epoch, { timeout: 10_000 }),
        ),
      );
      // Frames still in flight under the previous epoch arrive during the first moments.
      await a.page.waitForTimeout(1000);
      const [sa, sb] = await Promise.all([e2eeSnapshot(a.page), e2eeSnapshot(b.page)]);
      expect(sa.securityCode).toBe(sb.securityCode);
      expect(sa.securityCode).not.toBe(before.securityCode);
      expect(sa.epoch).toBe(sb.epoch);
      expect(sa.roster.sort()).toEqual([aId, bId].sort());
      const carolBefore = await decryptedBy(c.page, [aId, bId]);
      const carolDropsBefore = dropsOf(await e2eeSnapshot(c.page));
      const decodedBefore = await Promise.all([videoFramesDecodedFrom(a.page, bId), videoFramesDecodedFrom(b.page, aId)]);

      // Carol still holds the previous epoch (its keys retire 5 s after she saw the roster without her):
      // everything Alice and Bob send now is under the new one, which she lacks.
      await a.page.waitForTimeout(2500);
      const carolAfter = await decryptedBy(c.page, [aId, bId]);
      const carolDropsAfter = dropsOf(await e2eeSnapshot(c.page));
      const carolSaw = `decrypted ${carolBefore} → ${carolAfter}, dropped ${carolDropsBefore} → ${carolDropsAfter}`;
      console.log(`Carol, 1 → 3.5 s after the re-key: ${carolSaw}`);
      expect(carolAfter - carolBefore).toBeLessThan(3);
      expect(carolDropsAfter).toBeGreaterThan(carolDropsBefore + 20);

      // Alice and Bob keep decoding each other, and nothing they send or receive fails.
      const [ta, tb] = await Promise.all([e2eeSnapshot(a.page), e2eeSnapshot(b.page)]);
      const decodedAfter = await Promise.all([videoFramesDecodedFrom(a.page, bId), videoFramesDecodedFrom(b.page, aId)]);
      expect(decodedAfter[0]).toBeGreaterThan(decodedBefore[0]! + 15);
      expect(decodedAfter[1]).toBeGreaterThan(decodedBefore[1]! + 15);
      expect(dropsOf(ta, bId) - dropsOf(sa, bId)).toBeLessThan(3);
      expect(dropsOf(tb, aId) - dropsOf(sb, aId)).toBeLessThan(3);
      expect(sendDrops(ta) - sendDrops(sa)).toBe(0);
      expect(sendDrops(tb) - sendDrops(sb)).toBe(0);
      expect(BigInt(ta.received[bId]!.lastKid!) >> 16n).toBe(BigInt(ta.epoch));
      for (const p of pages) expect(kidConflicts(p.logs)).toEqual([]);
    });
  });
});
