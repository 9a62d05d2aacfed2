// Attack `inject-plaintext` (harness/adversary/inject-plaintext.ts): when Alice,
// the first joiner, starts her camera, the server announces a video producer
// of its own as Alice's screen share and sends it 15 frames a second:
// plaintext VP8 keyframes (a decodable image reading "FORGED") alternating
// with forged SFrame frames under Alice's real KID.
//
// Bob must consume it like any screen share and then drop every frame in
// decryption, counting the drops (AUTH_FAILED for the forged SFrame frames),
// decode nothing from it and render nothing, while Alice's real camera keeps
// decoding. Its tile should not claim the stream is encrypted and fine (a
// separate check, a finding today). The control run, with decryption switched off in the test build,
// shows the same forged stream does decode when nothing drops it, so the
// zero above is the client's doing, not a broken stream.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { AdversaryServer } from '../../harness/adversary/server.ts';
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
  type PageState,
  type TrackStats,
  withPages,
} from './helpers.ts';

let server: AdversaryServer;
let controlServer: AdversaryServer;
let browser: Browser;
beforeAll(async () => {
  server = await startAttackServer('inject-plaintext');
  controlServer = await startAttackServer('inject-plaintext', ['--static', 'dist-test']);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await controlServer?.close();
});

const DROP_REASONS = ['MALFORMED', 'UNKNOWN_KID', 'AUTH_FAILED', 'REPLAY', 'NO_KEY', 'WRONG_SENDER'];

interface Observation {
  meeting: string;
  aliceId: string;
  a: PageState;
  b: PageState;
  forged: TrackStats;
  injected: number;
  newDrops: number;
  cameraBefore: number;
  cameraAfter: number;
  aliceDecodedFromBob: number;
}

/** One meeting for both checks below: Alice, then Bob, with the attack running. */
let observation: Promise<Observation> | undefined;
function observe(): Promise<Observation> {
  observation ??= (async () => {
    const meeting = `inject-${Date.now()}`;
    const pages = await joinInOrder(browser, server, meeting, ['Alice', 'Bob']);
    const [alice, bob] = pages;
    return await withPages(pages, async () => {
      const stats = server.attack!.stats;
      // The forged producer is announced as Alice's and Bob receives its packets.
      await expect.poll(() => stats.roles[`forged-producer:${meeting}`], { timeout: 15_000 }).toBeDefined();
      await expect.poll(async () => (await pageState(bob!.page)).tracks[alice!.id]?.['screen'], { timeout: 15_000 }).toBeDefined();
      const forgedTrack = (await pageState(bob!.page)).tracks[alice!.id]!['screen']!;
      await expect
        .poll(async () => (await trackStats(bob!.page))[forgedTrack]?.packetsReceived ?? 0, { timeout: 15_000 })
        .toBeGreaterThan(20);
      await expect.poll(() => decodedFrom(bob!.page, alice!.id, 'camera'), { timeout: 15_000 }).toBeGreaterThan(10);

      const injectedBefore = stats.count('frames-injected');
      const cameraBefore = await decodedFrom(bob!.page, alice!.id, 'camera');
      const dropsBefore = (await pageState(bob!.page)).received[alice!.id]?.dropped ?? {};
      await bob!.page.waitForTimeout(3000);
      const injected = stats.count('frames-injected') - injectedBefore;
      const [a, b] = await Promise.all(pages.map((p) => pageState(p.page)));
      const forged = (await trackStats(bob!.page))[forgedTrack]!;
      const drops = b!.received[alice!.id]?.dropped ?? {};
      const newDrops = Object.entries(drops).reduce((n, [k, v]) => n + v - (dropsBefore[k] ?? 0), 0);
      report('inject-plaintext', server, [
        { name: 'Alice', s: a! },
        { name: 'Bob', s: b! },
      ]);
      console.log(
        `[inject-plaintext] forged consumer at Bob: ${JSON.stringify(forged)}; drops of Alice's frames: ${JSON.stringify(drops)}; screen tile: ${JSON.stringify(b!.screenTiles)}`,
      );
      return {
        meeting,
        aliceId: alice!.id,
        a: a!,
        b: b!,
        forged,
        injected,
        newDrops,
        cameraBefore,
        cameraAfter: await decodedFrom(bob!.page, alice!.id, 'camera'),
        aliceDecodedFromBob: await decodedFrom(alice!.page, bob!.id, 'camera'),
      };
    });
  })();
  return observation;
}

describe('attack: inject-plaintext', () => {
  it(
    "plaintext and forged frames announced as a participant's screen share are dropped, counted and never decoded",
    async () => {
      const o = await observe();
      const stats = server.attack!.stats;

      // The attack happened: plaintext and forged SFrame frames went out, as Alice's, and reached Bob's receiver.
      expect(stats.roles[`impersonated:${o.meeting}`]).toBe(o.aliceId);
      expect(stats.count('plaintext-frames')).toBeGreaterThan(10);
      expect(stats.count('forged-sframe-frames')).toBeGreaterThan(10);
      expect(o.injected).toBeGreaterThan(20);
      expect(o.forged.packetsReceived).toBeGreaterThan(20);
      expect(o.forged.bytesReceived).toBeGreaterThan(10_000);

      // Detection: dropped in decryption and counted under Alice, the forged SFrame frames failing authentication.
      // (Each forged frame is one RTP packet; drop counters lag the RTP stats by up to a stats tick,
      // and a loaded receiver may discard late frames before they reach the decrypting transform.)
      const drops = o.b.received[o.aliceId]!.dropped;
      const totalDrops = Object.values(drops).reduce((x, y) => x + y, 0);
      expect(o.newDrops).toBeGreaterThan(10);
      expect(totalDrops).toBeGreaterThanOrEqual(Math.floor(o.forged.packetsReceived * 0.5));
      expect(drops['AUTH_FAILED'] ?? 0).toBeGreaterThan(5);
      for (const reason of Object.keys(drops)) expect(DROP_REASONS).toContain(reason);

      // Nothing forged is decoded or rendered.
      expect(o.forged.framesDecoded).toBe(0);
      const screenTile = o.b.screenTiles.find((t) => t.participant === o.aliceId);
      expect(screenTile, "the forged producer shows up as Alice's screen share").toBeDefined();
      expect(screenTile!.videoWidth).toBe(0);

      // Honest media keeps flowing: Alice's real camera decodes at Bob, Bob's at Alice.
      expect(o.cameraAfter).toBeGreaterThan(o.cameraBefore + 20);
      expect(o.aliceDecodedFromBob).toBeGreaterThan(20);
      expect(tileOf(o.b, o.aliceId)?.e2ee).toBe('ok');
    },
    ATTACK_TEST_TIMEOUT,
  );

  // Each stream has its own E2EE state: a forged stream cannot borrow the badge of
  // the participant's healthy camera.
  it(
    'the UI flags the forged stream: its tile is not badged encrypted/ok',
    async () => {
      const o = await observe();
      const screenTile = o.b.screenTiles.find((t) => t.participant === o.aliceId);
      expect(screenTile).toBeDefined();
      expect(screenTile!.e2ee, 'the tile of a stream that never decrypts must not claim it is encrypted and fine').not.toBe('ok');
    },
    ATTACK_TEST_TIMEOUT,
  );

  it(
    'control: with decryption bypassed (test build, test=plaintext) the same forged stream decodes',
    async () => {
      const meeting = `inject-control-${Date.now()}`;
      const [alice] = await joinInOrder(browser, controlServer, meeting, ['Alice']);
      const [bob] = await joinInOrder(browser, controlServer, meeting, ['Bob'], '&test=plaintext');
      const pages = [alice!, bob!];
      await withPages(pages, async () => {
        await expect.poll(async () => (await pageState(bob!.page)).tracks[alice!.id]?.['screen'], { timeout: 15_000 }).toBeDefined();
        await expect.poll(() => decodedFrom(bob!.page, alice!.id, 'screen'), { timeout: 15_000 }).toBeGreaterThan(5);
        const s = await pageState(bob!.page);
        await expect
          .poll(
            () =>
              bob!.page
                .locator(`[data-testid=screen-tile][data-participant="${alice!.id}"] video`)
                .evaluate((v: HTMLVideoElement) => v.videoWidth),
            { timeout: 5000 },
          )
          .toBe(160);
        console.log(
          `[inject-plaintext control] decoded ${await decodedFrom(bob!.page, alice!.id, 'screen')} forged frames with decryption off; screen tile ${JSON.stringify(s.screenTiles)}`,
        );
      });
    },
    ATTACK_TEST_TIMEOUT,
  );
});
