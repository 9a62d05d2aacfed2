// Attack `drop-rotation`: the server withholds every key message after the
// first from the second joiner (harness/adversary/drop-rotation.ts). Alice leads;
// Bob (the victim) is keyed for epoch 2; when Carol joins, epoch 3's key never
// reaches Bob (nor do the resends Bob asks for). Bob must refuse the epoch-3
// commit (UNKNOWN_EPOCH, with an alert), stay on epoch 2 with a different
// security code, and decode nothing new. And (finding 2) Bob must stop sending
// once he learns of epoch 3: epoch 2 is a key the rest of the meeting is moving
// away from, so his frames are dropped (NO_KEY) rather than sent under it, his
// header says he is not sending, and Alice and Carol decode nothing new from
// him, while their own media keeps flowing.

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
  tileOf,
  withPages,
} from './helpers.ts';

let server: AdversaryServer;
let browser: Browser;
beforeAll(async () => {
  server = await startAttackServer('drop-rotation');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('attack: drop-rotation', () => {
  it(
    "a member denied the new epoch's key is shown as failing, refuses the commit, and cannot read the new epoch",
    async () => {
      const meeting = `drop-${Date.now()}`;
      const [alice, bob] = await joinInOrder(browser, server, meeting, ['Alice', 'Bob']);
      const pages = [alice!, bob!];
      await withPages(pages, async () => {
        // Epoch 2 (Alice + Bob) reaches Bob normally.
        await expect.poll(() => bob!.page.locator('[data-testid=tile][data-e2ee=ok]').count(), { timeout: 20_000 }).toBe(1);
        await expect.poll(() => decodedFrom(bob!.page, alice!.id), { timeout: 15_000 }).toBeGreaterThan(10);
        const epoch2 = (await pageState(bob!.page)).epoch;
        expect(server.attack!.stats.roles[`victim:${meeting}`]).toBe(bob!.id);

        const [carol] = await joinInOrder(browser, server, meeting, ['Carol']);
        pages.push(carol!);
        // Alice and Carol move to the new epoch; Bob cannot.
        for (const p of [alice!, carol!])
          await expect.poll(async () => (await pageState(p.page)).epoch, { timeout: 10_000 }).toBeGreaterThan(epoch2);
        await expect
          .poll(async () => rejections(await pageState(bob!.page), 'UNKNOWN_EPOCH').length, { timeout: 10_000 })
          .toBeGreaterThan(0);

        // Bob learned of epoch 3 (its roster reached him before Alice's commit): he stops sending within 2 s.
        await expect.poll(async () => (await pageState(bob!.page)).state, { timeout: 2000 }).toBe('rekeying');
        await expect.poll(async () => tileOf(await pageState(bob!.page), alice!.id)?.e2ee, { timeout: 12_000 }).toBe('failing');
        // Carol's video from Alice settles after the switch (keyframes under epoch 3) before we measure the honest flow.
        const carolFromAlice = await decodedFrom(carol!.page, alice!.id);
        await expect.poll(() => decodedFrom(carol!.page, alice!.id), { timeout: 12_000 }).toBeGreaterThan(carolFromAlice + 20);

        const bobDecodedBefore = await decodedFrom(bob!.page, alice!.id);
        const bobStateBefore = await pageState(bob!.page);
        const honestBefore = await Promise.all([decodedFrom(alice!.page, carol!.id), decodedFrom(carol!.page, alice!.id)]);
        const fromBobBefore = await Promise.all([decodedFrom(alice!.page, bob!.id), decodedFrom(carol!.page, bob!.id)]);
        await alice!.page.waitForTimeout(2500);
        const [a, b, c] = await Promise.all(pages.map((p) => pageState(p.page)));
        report('drop-rotation', server, [
          { name: 'Alice', s: a! },
          { name: 'Bob', s: b! },
          { name: 'Carol', s: c! },
        ]);

        // The attack happened.
        const stats = server.attack!.stats;
        expect(stats.count('withheld')).toBeGreaterThan(0);
        expect(stats.perRecipient[bob!.id]?.['keys-withheld']).toBeGreaterThan(0);
        // Bob asked for the key again, and Alice's answers were withheld too.
        expect(stats.perRecipient[bob!.id]?.['keys-withheld']).toBeGreaterThan(1);

        // Detection on the victim: the commit for a key it never got is refused and shown.
        expect(rejections(b!, 'UNKNOWN_EPOCH', alice!.id).length).toBeGreaterThan(0);
        expect(alertsFor(b!, 'UNKNOWN_EPOCH', 'Alice').length).toBeGreaterThan(0);
        expect(b!.epoch).toBe(epoch2);
        expect(b!.roster).not.toContain(carol!.id);
        expect(tileOf(b!, carol!.id)?.e2ee).toBe('waiting-for-key');
        // Honest members agree with each other, and the victim's code differs (comparing codes shows the split).
        expect(a!.epoch).toBe(c!.epoch);
        expect(a!.securityCode).toBe(c!.securityCode);
        expect(b!.securityCode).not.toBe(a!.securityCode);
        // The victim stopped sending and says so: no send key, its frames are dropped, nothing new decodes elsewhere.
        expect(b!.state).toBe('rekeying');
        expect(b!.shownState).toContain('not sending');
        expect(b!.alerts.some((x) => x.includes('not being sent'))).toBe(true);
        expect(b!.sent.dropped['NO_KEY'] ?? 0).toBeGreaterThan(bobStateBefore.sent.dropped['NO_KEY'] ?? 0);
        expect(b!.sent.encrypted).toBe(bobStateBefore.sent.encrypted);
        expect(await decodedFrom(alice!.page, bob!.id)).toBeLessThanOrEqual(fromBobBefore[0]! + 2);
        expect(await decodedFrom(carol!.page, bob!.id)).toBeLessThanOrEqual(fromBobBefore[1]! + 2);

        // The victim reads nothing of the new epoch: its decoded count from Alice stalls and Alice's frames are dropped.
        expect(await decodedFrom(bob!.page, alice!.id)).toBeLessThanOrEqual(bobDecodedBefore + 2);
        expect(b!.received[alice!.id]!.decrypted).toBe(bobStateBefore.received[alice!.id]!.decrypted);
        expect(Object.values(b!.received[alice!.id]!.dropped).reduce((x, y) => x + y, 0)).toBeGreaterThan(20);
        // Honest media keeps flowing between Alice and Carol.
        expect(await decodedFrom(alice!.page, carol!.id)).toBeGreaterThan(honestBefore[0]! + 20);
        expect(await decodedFrom(carol!.page, alice!.id)).toBeGreaterThan(honestBefore[1]! + 20);
      });
    },
    ATTACK_TEST_TIMEOUT,
  );
});
