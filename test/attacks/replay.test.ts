// Attack `replay`: after each rotation the server re-delivers the previous
// epoch's roster, key message and commit to everyone, and its acks to the
// leader (harness/adversary/replay.ts). Alice leads, Bob joins (epoch 2), Carol
// joins (epoch 3): after the epoch-3 commit, Bob and Carol get epoch 2 again.
// They must refuse all three as STALE_EPOCH, with alerts, and stay on epoch 3
// with one roster and one security code while media keeps flowing.

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
  server = await startAttackServer('replay');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('attack: replay', () => {
  it(
    "the previous epoch's roster, key message and commit, re-delivered after a rotation, are refused as stale",
    async () => {
      const pages = await joinInOrder(browser, server, `replay-${Date.now()}`, ['Alice', 'Bob', 'Carol']);
      const [alice, bob, carol] = pages;
      await withPages(pages, async () => {
        for (const p of pages)
          await expect.poll(() => p.page.locator('[data-testid=tile][data-e2ee=ok]').count(), { timeout: 20_000 }).toBe(2);
        const stats = server.attack!.stats;
        await expect.poll(() => stats.count('replayed-commit'), { timeout: 10_000 }).toBeGreaterThan(0);
        for (const p of [bob!, carol!]) {
          await expect
            .poll(async () => rejections(await pageState(p.page), 'STALE_EPOCH').length, { timeout: 10_000 })
            .toBeGreaterThanOrEqual(3);
        }
        const before = await Promise.all(pages.map((p) => decodedFrom(p.page, p === alice ? carol!.id : alice!.id)));
        await alice!.page.waitForTimeout(2000);
        const states = await Promise.all(pages.map((p) => pageState(p.page)));
        report(
          'replay',
          server,
          pages.map((p, i) => ({ name: p.name, s: states[i]! })),
        );
        const [a, b, c] = states;

        // The attack happened: old roster, key message and commit went to Bob and Carol again.
        for (const kind of ['roster', 'keys', 'commit']) {
          expect(stats.perRecipient[bob!.id]?.[kind], `${kind} replayed to Bob`).toBeGreaterThan(0);
          expect(stats.perRecipient[carol!.id]?.[kind], `${kind} replayed to Carol`).toBeGreaterThan(0);
        }

        // Detection: each replayed message refused as stale, by type, and shown.
        for (const [p, s] of [
          [bob!, b!],
          [carol!, c!],
        ] as const) {
          const stale = rejections(s, 'STALE_EPOCH', alice!.id).map((e) => e.message);
          expect(
            stale.some((m) => /^roster \d+ is not after/.test(m) || /^roster epoch \d+ is not after/.test(m)),
            `${p.name}: replayed roster refused (${stale.join('; ')})`,
          ).toBe(true);
          expect(
            stale.some((m) => /^key message epoch/.test(m)),
            `${p.name}: replayed key message refused`,
          ).toBe(true);
          expect(
            stale.some((m) => /^commit for epoch/.test(m)),
            `${p.name}: replayed commit refused`,
          ).toBe(true);
          const sent = stats.perRecipient[p.id]!;
          expect(rejections(s, 'STALE_EPOCH').length).toBe((sent['roster'] ?? 0) + (sent['keys'] ?? 0) + (sent['commit'] ?? 0));
          expect(alertsFor(s, 'STALE_EPOCH', 'Alice').length).toBeGreaterThan(0);
        }

        // Nothing rolled back: one epoch (the newest), one roster, one code, the real leader.
        expect(new Set(states.map((s) => s.epoch)).size).toBe(1);
        expect(new Set(states.map((s) => s.securityCode)).size).toBe(1);
        for (const s of states) {
          expect(s.state).toBe('ok');
          expect(s.roster).toHaveLength(3);
          expect(s.leaderId).toBe(alice!.id);
        }
        expect(a!.epoch).toBeGreaterThanOrEqual(3);
        // Media keeps flowing among all three.
        // Polled rather than read once: the property is that frames keep decrypting, not a frame rate,
        // which a loaded 2-core machine can push below 10 fps for a few seconds.
        for (const [i, p] of pages.entries())
          await expect
            .poll(() => decodedFrom(p.page, p === alice ? carol!.id : alice!.id), { message: `${p.name} keeps decoding`, timeout: 10_000 })
            .toBeGreaterThan(before[i]! + 20);
        // Replayed acks (an ack is only a receipt) reached the leader too; report what it did with them.
        console.log(
          `[replay] acks replayed to the leader: ${stats.count('replayed-ack')}; leader rejections: ${JSON.stringify(a!.errors.map((e) => e.code))}`,
        );
      });
    },
    ATTACK_TEST_TIMEOUT,
  );
});
