// Attack `tamper`: the server delivers, ahead of every announcement, roster,
// key message, ack and commit, a copy with one byte flipped (see
// harness/adversary/tamper.ts). Each page must reject every tampered copy it was
// sent (BAD_SIGNATURE, one alert each) and nothing else, and the originals
// that follow must still work: one epoch, one roster, one security code, and
// video decoding everywhere.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { AdversaryServer } from '../../harness/adversary/server.ts';
import {
  ATTACK_TEST_TIMEOUT,
  alertsFor,
  decodedTotal,
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
  server = await startAttackServer('tamper');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Which message a rejection is about, from its message text. */
function kindOf(message: string): string {
  if (/^announcement signature/.test(message)) return 'announce';
  if (/^roster \d+ signature/.test(message)) return 'roster';
  if (/^key message signature/.test(message)) return 'keys';
  if (/^ack signature/.test(message)) return 'ack';
  if (/^commit signature/.test(message)) return 'commit';
  return `other: ${message}`;
}

describe('attack: tamper', () => {
  it(
    'every tampered key-exchange message is rejected with BAD_SIGNATURE and the originals still key everyone',
    async () => {
      const pages = await joinInOrder(browser, server, `tamper-${Date.now()}`, ['Alice', 'Bob', 'Carol']);
      await withPages(pages, async () => {
        for (const p of pages) {
          await expect.poll(() => p.page.locator('[data-testid=tile][data-e2ee=ok]').count(), { timeout: 20_000 }).toBe(2);
          await expect.poll(() => decodedTotal(p.page), { timeout: 15_000 }).toBeGreaterThan(30);
        }
        // The checks below read per-sender counts: wait for the pairs they name, not only for each page's total.
        const [pa, pb, pc] = pages;
        await expect
          .poll(async () => (await pageState(pb!.page)).received[pa!.id]?.decrypted ?? 0, { timeout: 15_000 })
          .toBeGreaterThan(30);
        await expect
          .poll(async () => (await pageState(pc!.page)).received[pb!.id]?.decrypted ?? 0, { timeout: 15_000 })
          .toBeGreaterThan(30);
        const states = await Promise.all(pages.map((p) => pageState(p.page)));
        report(
          'tamper',
          server,
          pages.map((p, i) => ({ name: p.name, s: states[i]! })),
        );
        const stats = server.attack!.stats;

        // The attack happened, for every message type.
        for (const kind of ['announce', 'roster', 'keys', 'ack', 'commit'])
          expect(stats.count(`tampered-${kind}`), kind).toBeGreaterThan(0);

        for (const [i, p] of pages.entries()) {
          const s = states[i]!;
          const sent = stats.perRecipient[p.id] ?? {};
          const total = Object.values(sent).reduce((a, b) => a + b, 0);
          expect(total, `${p.name} was sent tampered messages`).toBeGreaterThan(0);
          // Exactly one rejection per tampered copy, all BAD_SIGNATURE, for the message type that was tampered.
          expect(rejections(s, 'BAD_SIGNATURE')).toHaveLength(total);
          expect(s.errors).toHaveLength(total);
          const byKind: Record<string, number> = {};
          for (const e of s.errors) byKind[kindOf(e.message)] = (byKind[kindOf(e.message)] ?? 0) + 1;
          expect(byKind, `${p.name}: rejections by message type`).toEqual(sent);
          expect(alertsFor(s, 'BAD_SIGNATURE').length).toBeGreaterThan(0);
        }

        // The tampered copies changed nothing: one group, one key, the real leader.
        const [a, b, c] = states;
        expect(new Set(states.map((s) => s.epoch)).size).toBe(1);
        expect(new Set(states.map((s) => s.securityCode)).size).toBe(1);
        expect(a!.shownCode).toBe(a!.securityCode);
        for (const s of states) {
          expect(s.state).toBe('ok');
          expect([...s.roster].sort()).toEqual(pages.map((p) => p.id).sort());
          expect(s.leaderId).toBe(pages[0]!.id);
        }
        expect(b!.received[a!.id]!.decrypted).toBeGreaterThan(30);
        expect(c!.received[b!.id]!.decrypted).toBeGreaterThan(30);
      });
    },
    ATTACK_TEST_TIMEOUT,
  );
});
