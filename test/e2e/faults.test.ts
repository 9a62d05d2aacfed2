// A two-person meeting rides through three faults in turn, on its own:
// Bob's socket drops (server alive), the server restarts (the SIGTERM path:
// a "server restarting" notice, then close, then a new process on the same
// port), and the meeting's mediasoup worker is killed with SIGKILL. After each,
// both decode each other again and the invariants hold: the same security code
// on both pages, no tile saying "encrypted" while its frames fail, and at the
// end, in everything the server's tap captured, no frame that is not SFrame
// and no (KID, CTR) used twice under one meeting instance's keys.

import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/app.ts';
import { createLogger } from '../../server/log.ts';
import { Tap } from '../../server/tap/tap.ts';
import { cameraOverride, closePages, launchBrowser, openParticipant, tmpDir, videoFramesDecodedFrom } from '../../harness/browser.ts';
import { readSurface } from '../../harness/test-surface.ts';
import { checkTapFrames } from '../../harness/fault-invariants.ts';
import {
  STATUS_LOG,
  cameraConsumerOf,
  statusLog,
  tilesThatLie,
  waitDecoding,
  waitRejoined,
  waitSameSecurityCode,
} from '../../harness/fault-pages.ts';
import { e2eeSnapshot } from '../../harness/e2ee-page.ts';
import { linkFragment } from '../../harness/meeting-link.ts';
import { startTestBuildServer } from '../../harness/server.ts';

const tapDir = tmpDir('faults-tap-');
let server: RunningServer;
let tap: Tap;
let browser: Browser;
let pages: Array<{ page: Page; logs: string[] }> = [];
let ids: [string, string] = ['', ''];

async function startServer(port?: number): Promise<void> {
  tap = new Tap(tapDir, createLogger('error'));
  server = await startTestBuildServer(port === undefined ? [] : ['--port', String(port)], { roomObserver: tap, signalObserver: tap });
}
async function stopServer(): Promise<void> {
  await server.close();
  await tap.close();
}

beforeAll(async () => {
  await startServer();
  browser = await launchBrowser();
  const meeting = `faults-${Date.now()}`;
  const url = (n: string) => `${server.url}/?meeting=${meeting}&name=${n}&join=1${linkFragment(meeting)}`;
  const opts = { initScripts: [cameraOverride('320x180@15'), STATUS_LOG] };
  pages = [await openParticipant(browser, url('Alice'), 'alice', opts), await openParticipant(browser, url('Bob'), 'bob', opts)];
  ids = [await waitRejoined(pages[0]!.page, 2, undefined, 30_000), await waitRejoined(pages[1]!.page, 2, undefined, 30_000)];
  await waitDecoding(pages[0]!.page, ids[1], 15, 20_000);
  await waitDecoding(pages[1]!.page, ids[0], 15, 20_000);
}, 90_000);

afterAll(async () => {
  await closePages(pages);
  await browser?.close();
  await server?.close();
  await tap?.close();
  fs.rmSync(tapDir, { recursive: true, force: true });
});

/** Both pages decode each other again, show one security code, and no tile claims encryption while failing. */
async function meetingWholeAgain(notIds: [string | undefined, string | undefined]): Promise<void> {
  const [a, b] = pages.map((p) => p.page) as [Page, Page];
  ids = [await waitRejoined(a, 2, notIds[0], 30_000), await waitRejoined(b, 2, notIds[1], 30_000)];
  await waitSameSecurityCode([a, b], 15_000);
  await waitDecoding(a, ids[1], 15, 20_000);
  await waitDecoding(b, ids[0], 15, 20_000);
  expect(await tilesThatLie([a, b], 1500)).toEqual([]);
  for (const p of pages) expect(p.logs.filter((l) => l.includes('KID_CONFLICT'))).toEqual([]);
}

/**
 * Waits (server down) for a back-off wait of more than 1.5 s, triggers an early
 * retry, and says whether the next attempt started within 1 s.
 */
async function retriesAtOnce(page: Page, trigger: (p: Page) => Promise<unknown>): Promise<boolean> {
  const waiting = () =>
    readSurface(page, ({ meeting: m }) => ({ attempt: m.reconnecting?.attempt ?? 0, left: (m.reconnecting?.nextTryAt ?? 0) - Date.now() }));
  const deadline = Date.now() + 20_000;
  let w = await waiting();
  while (w.left < 1500 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    w = await waiting();
  }
  if (w.left < 1500) return false;
  await trigger(page);
  await new Promise((r) => setTimeout(r, 1000));
  return (await waiting()).attempt > w.attempt;
}

/** The server's ICE username fragment in each open PeerConnection of the page (changes with an ICE restart). */
function serverIceUfrags(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    ((window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? [])
      .filter((pc) => pc.connectionState !== 'closed' && pc.remoteDescription)
      .map((pc) => /a=ice-ufrag:(\S+)/.exec(pc.remoteDescription!.sdp)?.[1] ?? ''),
  );
}

/** Runs a fault step; on failure prints the pages' console lines. */
async function step(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (e) {
    console.log(
      pages
        .flatMap((p) => p.logs)
        .slice(-60)
        .join('\n'),
    );
    throw e;
  }
}

describe('a meeting survives faults with E2EE intact', () => {
  it('a dropped socket: Bob says the connection was lost, reconnects by himself and both decode again', { timeout: 60_000 }, () =>
    step(async () => {
      const [, bobOld] = ids;
      for (const c of server.sessions) if (c.participantId === bobOld) c.disconnect('INTERNAL', 'test: socket dropped');
      await meetingWholeAgain([undefined, bobOld]);
      expect((await statusLog(pages[1]!.page)).some((l) => l.startsWith('reconnecting|lost|Connection lost…'))).toBe(true);
    }),
  );

  it('a server restart: both pages say the server is restarting, rejoin when it listens again and re-key', { timeout: 90_000 }, () =>
    step(async () => {
      const old = [...ids] as [string, string];
      const port = server.port;
      await stopServer();
      // Down for a moment: the pages must say why, and keep trying. (Checked after the
      // server is back, so a failure here does not take the later steps down with it.)
      const said = async (p: Page) =>
        (await statusLog(p)).some((l) => l.startsWith('reconnecting|server-restarting|The server is restarting…'));
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !((await said(pages[0]!.page)) && (await said(pages[1]!.page))))
        await new Promise((r) => setTimeout(r, 100));
      // While it is down, Alice presses Try now and Bob's browser reports the network back: each tries at once.
      const tryNow = await Promise.all([
        retriesAtOnce(pages[0]!.page, (p) => p.click('[data-testid=reconnect-now]')),
        retriesAtOnce(pages[1]!.page, (p) => p.evaluate(() => void window.dispatchEvent(new Event('online')))),
      ]);
      await startServer(port);
      for (const p of pages) expect(await said(p.page)).toBe(true);
      expect(tryNow).toEqual([true, true]);
      await meetingWholeAgain(old);
    }),
  );

  it('a killed mediasoup worker: the meeting moves to a fresh worker, nobody leaves, media comes back', { timeout: 60_000 }, () =>
    step(async () => {
      const before = [...ids] as [string, string];
      const epochs = (await Promise.all(pages.map((p) => e2eeSnapshot(p.page)))).map((s) => s.epoch);
      const consumers = [await cameraConsumerOf(pages[0]!.page, ids[1]), await cameraConsumerOf(pages[1]!.page, ids[0])];
      const [pid] = server.workerPids();
      const logLengths = await Promise.all(pages.map(async (p) => (await statusLog(p.page)).length));
      process.kill(pid!, 'SIGKILL');
      // New consumers of the re-published cameras, on new transports.
      for (const [i, p] of pages.entries()) {
        await expect.poll(() => cameraConsumerOf(p.page, ids[1 - i]!), { timeout: 20_000 }).not.toBe(consumers[i]);
        await expect.poll(() => cameraConsumerOf(p.page, ids[1 - i]!), { timeout: 20_000 }).toBeDefined();
      }
      await meetingWholeAgain([undefined, undefined]);
      // Same participants, same keys: the meeting never ended and nobody rejoined.
      expect(ids).toEqual(before);
      expect(server.workerPids()).not.toContain(pid);
      const after = (await Promise.all(pages.map((p) => e2eeSnapshot(p.page)))).map((s) => s.epoch);
      expect(after).toEqual(epochs);
      for (const [i, p] of pages.entries())
        expect((await statusLog(p.page)).slice(logLengths[i])).not.toContainEqual(expect.stringMatching(/^reconnecting/));
    }),
  );

  it('an ICE restart on both transports (a network change): media keeps flowing, nobody rejoins', { timeout: 40_000 }, () =>
    step(async () => {
      const before = [...ids] as [string, string];
      const decoded = await Promise.all([videoFramesDecodedFrom(pages[0]!.page, ids[1]), videoFramesDecodedFrom(pages[1]!.page, ids[0])]);
      const ufragsBefore = await Promise.all(pages.map((p) => serverIceUfrags(p.page)));
      for (const p of pages) await readSurface(p.page, ({ meeting }) => meeting.media?.restartIceNow().then(() => true));
      // The server handed out new ICE credentials and the browser applied them, on both transports.
      const ufragsAfter = await Promise.all(pages.map((p) => serverIceUfrags(p.page)));
      for (const [i, after] of ufragsAfter.entries()) {
        expect(after).toHaveLength(2);
        for (const u of after) expect(ufragsBefore[i]).not.toContain(u);
      }
      await waitDecoding(pages[0]!.page, ids[1], decoded[0]! + 30, 20_000);
      await waitDecoding(pages[1]!.page, ids[0], decoded[1]! + 30, 20_000);
      await meetingWholeAgain([undefined, undefined]);
      expect(ids).toEqual(before);
      for (const p of pages) expect(p.logs.filter((l) => l.includes('ICE restart 1 of 2')).length).toBe(2);
    }),
  );

  it('the server saw only SFrame frames, and no (KID, CTR) twice within a meeting instance', { timeout: 30_000 }, async () => {
    await stopServer();
    const check = checkTapFrames(tapDir);
    console.log(`tap: ${check.instances} instances, ${check.producers} producers, ${check.frames} frames checked`);
    expect(check.instances).toBeGreaterThanOrEqual(2); // before and after the restart
    expect(check.frames).toBeGreaterThan(500);
    expect(check.problems).toEqual([]);
  });
});
