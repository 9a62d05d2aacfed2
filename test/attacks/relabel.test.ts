// Attacks `relabel-source`, `relabel-sender` and `relabel-kind`
// (harness/adversary/relabel.ts): the server, alone (no meeting link), lies
// about what a stream is in the producer metadata it hands out. The frames are
// genuine and keyed; only the label is false.
//
//   camera ↔ screen  Alice's camera arrives at Bob as her screen share and her
//                    screen share as her camera. Bob drops both (WRONG_SOURCE:
//                    the KID names the source), decodes nothing from either,
//                    and both tiles say why; Alice's microphone still decrypts.
//   Alice ↔ Bob      Carol is told Alice's streams are Bob's and Bob's are
//                    Alice's. Carol drops both (WRONG_SENDER) and both tiles
//                    say so; Alice and Bob, told the truth, see each other.
//   audio ↔ video    Alice's microphone arrives at Bob as a video screen
//                    share, and her screen share as audio (her microphone).
//                    Bob refuses both consumes before they reach the receive
//                    PeerConnection (where either would break every other
//                    stream), each tile says why, and Alice's camera keeps
//                    decoding at Bob: each failure is contained to its stream.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { AdversaryServer } from '../../harness/adversary/server.ts';
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
  trackStats,
  withPages,
  type PageState,
} from './helpers.ts';

let browser: Browser;
const servers: AdversaryServer[] = [];
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
});

async function serverFor(name: string): Promise<AdversaryServer> {
  const s = await startAttackServer(name, [], { insider: false });
  servers.push(s);
  return s;
}

/** Packets the page received on the track it holds for a participant's source (0 if none). */
async function packetsOn(page: Page, participantId: string, source: 'mic' | 'camera' | 'screen'): Promise<number> {
  const trackId = (await pageState(page)).tracks[participantId]?.[source];
  if (!trackId) return 0;
  return (await trackStats(page))[trackId]?.packetsReceived ?? 0;
}

/** Drops by reason on the stream the page holds for a participant's source (its own counters, not the participant's). */
function streamDrops(page: Page, participantId: string, source: 'mic' | 'camera' | 'screen'): Promise<Record<string, number>> {
  return readSurface(
    page,
    ({ e2ee: c, meeting: m }, [id, src]) => {
      const t = m.participants.get(id)?.tracks[src];
      return { ...(t ? c.frames.streams.get(t.producerId)?.dropped : undefined) };
    },
    [participantId, source] as const,
  );
}

const dropped = (s: PageState, participantId: string, code: string): number => s.received[participantId]?.dropped[code] ?? 0;
const screenTileOf = (s: PageState, participantId: string) => s.screenTiles.find((t) => t.participant === participantId);

describe('attack: relabel-source (camera ↔ screen share)', () => {
  it(
    "Alice's camera announced as her screen share and her screen share as her camera: both dropped as WRONG_SOURCE, both tiles say why",
    async () => {
      const server = await serverFor('relabel-source');
      const meeting = `relabel-source-${Date.now()}`;
      const pages = await joinInOrder(browser, server, meeting, ['Alice', 'Bob']);
      const [alice, bob] = pages;
      await withPages(pages, async () => {
        // Alice shares her screen: the server announces it to Bob as her camera.
        await alice!.page.getByTestId('screen-toggle').click();
        const stats = server.attack.stats;
        await expect.poll(() => stats.count('relabelled-consumes'), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
        // Both relabelled streams really arrive at Bob...
        await expect.poll(() => packetsOn(bob!.page, alice!.id, 'screen'), { timeout: 20_000 }).toBeGreaterThan(30);
        await expect.poll(() => packetsOn(bob!.page, alice!.id, 'camera'), { timeout: 20_000 }).toBeGreaterThan(30);
        // ...and Bob is keyed for Alice: her microphone decrypts, and Alice decodes Bob's camera (the control).
        await expect
          .poll(async () => (await pageState(bob!.page)).received[alice!.id]?.decrypted ?? 0, { timeout: 20_000 })
          .toBeGreaterThan(20);
        await expect.poll(() => decodedFrom(alice!.page, bob!.id, 'camera'), { timeout: 20_000 }).toBeGreaterThan(10);
        // Both of Bob's tiles for Alice say why nothing shows.
        await expect
          .poll(async () => screenTileOf(await pageState(bob!.page), alice!.id)?.text ?? '', { timeout: 15_000 })
          .toBe('failing: wrong source');
        await expect
          .poll(async () => tileOf(await pageState(bob!.page), alice!.id)?.text ?? '', { timeout: 15_000 })
          .toBe('failing: wrong source');

        const b = await pageState(bob!.page);
        report('relabel-source', server, [
          { name: 'Alice', s: await pageState(alice!.page) },
          { name: 'Bob', s: b },
        ]);
        console.log(`[relabel-source] Bob's drops of Alice's frames: ${JSON.stringify(b.received[alice!.id])}`);
        expect(stats.roles[`relabelled:${meeting}`]).toBe(alice!.id);
        expect(stats.perRecipient[bob!.id]?.['relabelled-consumes']).toBeGreaterThanOrEqual(2);
        await expect
          .poll(async () => dropped(await pageState(bob!.page), alice!.id, 'WRONG_SOURCE'), { timeout: 10_000 })
          .toBeGreaterThan(10);
        expect(tileOf(b, alice!.id)!.e2ee).toBe('failing');
        expect(screenTileOf(b, alice!.id)!.e2ee).toBe('failing');
        // Nothing of either stream was decoded, in either tile.
        expect(await decodedFrom(bob!.page, alice!.id, 'camera')).toBe(0);
        expect(await decodedFrom(bob!.page, alice!.id, 'screen')).toBe(0);
      });
    },
    ATTACK_TEST_TIMEOUT,
  );
});

describe('attack: relabel-sender (Alice ↔ Bob)', () => {
  it(
    "Carol, told Alice's streams are Bob's and Bob's are Alice's, drops both as WRONG_SENDER and both tiles say so; Alice and Bob see each other",
    async () => {
      const server = await serverFor('relabel-sender');
      const meeting = `relabel-sender-${Date.now()}`;
      const pages = await joinInOrder(browser, server, meeting, ['Alice', 'Bob', 'Carol']);
      const [alice, bob, carol] = pages;
      await withPages(pages, async () => {
        const stats = server.attack.stats;
        await expect.poll(() => stats.perRecipient[carol!.id]?.['relabelled-consumes'] ?? 0, { timeout: 20_000 }).toBe(4);
        await expect.poll(() => packetsOn(carol!.page, alice!.id, 'camera'), { timeout: 20_000 }).toBeGreaterThan(30);
        await expect.poll(() => packetsOn(carol!.page, bob!.id, 'camera'), { timeout: 20_000 }).toBeGreaterThan(30);
        // The control: told the truth, Alice and Bob decode each other, and Carol is keyed (3 in her roster).
        await expect.poll(() => decodedFrom(alice!.page, bob!.id, 'camera'), { timeout: 20_000 }).toBeGreaterThan(10);
        await expect.poll(() => decodedFrom(bob!.page, alice!.id, 'camera'), { timeout: 20_000 }).toBeGreaterThan(10);
        await expect.poll(async () => (await pageState(carol!.page)).roster.length, { timeout: 20_000 }).toBe(3);
        for (const who of [alice!, bob!]) {
          await expect
            .poll(async () => tileOf(await pageState(carol!.page), who.id)?.text ?? '', { timeout: 15_000 })
            .toBe('failing: wrong sender');
        }

        const c = await pageState(carol!.page);
        report('relabel-sender', server, [{ name: 'Carol', s: c }]);
        console.log(`[relabel-sender] Carol's drops: ${JSON.stringify(c.received)}`);
        expect(stats.roles[`swapped-a:${meeting}`]).toBe(alice!.id);
        expect(stats.roles[`swapped-b:${meeting}`]).toBe(bob!.id);
        expect(stats.perRecipient[alice!.id]).toBeUndefined();
        expect(stats.perRecipient[bob!.id]).toBeUndefined();
        for (const who of [alice!, bob!]) {
          // Counted on the tile the frames arrived on: each got the other's frames, every one dropped.
          await expect
            .poll(async () => dropped(await pageState(carol!.page), who.id, 'WRONG_SENDER'), { timeout: 10_000 })
            .toBeGreaterThan(10);
          expect(c.received[who.id]?.decrypted ?? 0).toBe(0);
          // The microphone too: its frames only open under their sender's audio key (protocol.md §7.3a), so the
          // re-routed ones fail authentication there; the worker then finds whose key they open under.
          await expect
            .poll(async () => (await streamDrops(carol!.page, who.id, 'mic'))['WRONG_SENDER'] ?? 0, { timeout: 10_000 })
            .toBeGreaterThan(10);
          expect(tileOf(c, who.id)!.e2ee).toBe('failing');
          expect(await decodedFrom(carol!.page, who.id, 'camera')).toBe(0);
        }
      });
    },
    ATTACK_TEST_TIMEOUT,
  );
});

describe('attack: relabel-kind (microphone announced as video, screen share as audio)', () => {
  it(
    "Alice's microphone announced as video and her screen share as audio: Bob refuses both consumes, each tile says why, and Alice's camera keeps decoding",
    async () => {
      const server = await serverFor('relabel-kind');
      const meeting = `relabel-kind-${Date.now()}`;
      const pages = await joinInOrder(browser, server, meeting, ['Alice', 'Bob']);
      const [alice, bob] = pages;
      await withPages(pages, async () => {
        const stats = server.attack.stats;
        await expect.poll(() => stats.perRecipient[bob!.id]?.['relabelled-consumes'] ?? 0, { timeout: 20_000 }).toBe(1);
        // Contained: the receive connection still carries Alice's camera to Bob, and Bob's to Alice.
        await expect.poll(() => decodedFrom(bob!.page, alice!.id, 'camera'), { timeout: 20_000 }).toBeGreaterThan(10);
        await expect.poll(() => decodedFrom(alice!.page, bob!.id, 'camera'), { timeout: 20_000 }).toBeGreaterThan(10);
        await expect
          .poll(async () => screenTileOf(await pageState(bob!.page), alice!.id)?.text ?? '', { timeout: 15_000 })
          .toBe('failing: screen not received (consume refused: a video stream cannot carry audio/opus)');
        // The camera tile is unaffected so far: the refused microphone was announced as a screen share.
        expect(tileOf(await pageState(bob!.page), alice!.id)!.e2ee).toBe('ok');

        // Alice shares her screen: announced to Bob as her microphone, audio with VP8.
        await alice!.page.getByTestId('screen-toggle').click();
        await expect.poll(() => stats.perRecipient[bob!.id]?.['relabelled-consumes'] ?? 0, { timeout: 20_000 }).toBe(2);
        await expect
          .poll(async () => tileOf(await pageState(bob!.page), alice!.id)?.text ?? '', { timeout: 15_000 })
          .toBe('failing: mic not received (consume refused: an audio stream cannot carry video/vp8)');

        const b = await pageState(bob!.page);
        report('relabel-kind', server, [{ name: 'Bob', s: b }]);
        console.log(`[relabel-kind] Bob's tiles for Alice: ${JSON.stringify([tileOf(b, alice!.id), screenTileOf(b, alice!.id)])}`);
        expect(stats.roles[`relabelled:${meeting}`]).toBe(alice!.id);
        expect(screenTileOf(b, alice!.id)!.e2ee).toBe('failing');
        expect(tileOf(b, alice!.id)!.e2ee).toBe('failing');
        // Neither refused stream was received (no track); Alice's camera still decodes after both refusals.
        expect(b.tracks[alice!.id]?.['screen']).toBeUndefined();
        expect(b.tracks[alice!.id]?.['mic']).toBeUndefined();
        const before = await decodedFrom(bob!.page, alice!.id, 'camera');
        await expect.poll(() => decodedFrom(bob!.page, alice!.id, 'camera'), { timeout: 10_000 }).toBeGreaterThan(before + 10);
      });
    },
    ATTACK_TEST_TIMEOUT,
  );
});
