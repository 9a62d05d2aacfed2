// Attack `drop-rotation`: the server withholds every key message after the
// first from the second joiner (harness/adversary/drop-rotation.ts). Alice leads;
// Bob (the victim) is keyed for epoch 2; when Carol joins, epoch 3's key never
// reaches Bob. Bob must refuse the epoch-3 commit (UNKNOWN_EPOCH, with an
// alert), stay on epoch 2 with a different security code, and decode nothing
// new; Alice and Carol must show Bob's tile as failing once epoch 2 retires,
// while their own media keeps flowing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { AdversaryServer } from '../../harness/adversary/server.ts';
import { ATTACK_TEST_TIMEOUT, alertsFor, decodedFrom, joinInOrder, launchBrowser, pageState, rejections, report, startAttackServer, tileOf, withPages } from './helpers.ts';

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
  it("a member denied the new epoch's key is shown as failing, refuses the commit, and cannot read the new epoch", async () => {
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
      for (const p of [alice!, carol!]) await expect.poll(async () => (await pageState(p.page)).epoch, { timeout: 10_000 }).toBeGreaterThan(epoch2);
      await expect.poll(async () => rejections(await pageState(bob!.page), 'UNKNOWN_EPOCH').length, { timeout: 10_000 }).toBeGreaterThan(0);

      // Once epoch 2 retires (5 s after the switch), Bob's frames are unreadable for Alice and Carol.
      for (const p of [alice!, carol!]) {
        await expect.poll(async () => tileOf(await pageState(p.page), bob!.id)?.e2ee, { timeout: 12_000 }).toBe('failing');
      }
      await expect.poll(async () => tileOf(await pageState(bob!.page), alice!.id)?.e2ee, { timeout: 5000 }).toBe('failing');

      const bobDecodedBefore = await decodedFrom(bob!.page, alice!.id);
      const bobStateBefore = await pageState(bob!.page);
      const honestBefore = await Promise.all([decodedFrom(alice!.page, carol!.id), decodedFrom(carol!.page, alice!.id)]);
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
      // Everyone else shows the victim as failing: its frames no longer decrypt.
      expect(tileOf(a!, bob!.id)?.e2ee).toBe('failing');
      expect(tileOf(c!, bob!.id)?.e2ee).toBe('failing');

      // The victim reads nothing of the new epoch: its decoded count from Alice stalls and Alice's frames are dropped.
      expect(await decodedFrom(bob!.page, alice!.id)).toBeLessThanOrEqual(bobDecodedBefore + 2);
      expect(b!.received[alice!.id]!.decrypted).toBe(bobStateBefore.received[alice!.id]!.decrypted);
      expect(Object.values(b!.received[alice!.id]!.dropped).reduce((x, y) => x + y, 0)).toBeGreaterThan(20);
      // Honest media keeps flowing between Alice and Carol.
      expect(await decodedFrom(alice!.page, carol!.id)).toBeGreaterThan(honestBefore[0]! + 20);
      expect(await decodedFrom(carol!.page, alice!.id)).toBeGreaterThan(honestBefore[1]! + 20);
    });
  }, ATTACK_TEST_TIMEOUT);
});
