// Reconnecting stops where retrying cannot help: Bob drops out of a one-on-one
// call (the server cuts his WebSocket, then the test swallows his reconnect
// attempts: a socket that opens but never answers), Carol takes the free place, and when
// Bob's network is back the server refuses him (CALL_FULL). His page says so
// instead of retrying for minutes. The swallowed attempt also shows that an
// attempt the server never answers is abandoned (RECONNECT_ATTEMPT_TIMEOUT_MS).

import { expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { RunningServer } from '../../server/app.ts';
import { cameraOverride, openParticipant, withOpenPages } from '../../harness/browser.ts';
import { waitRejoined } from '../../harness/fault-pages.ts';
import { linkFragment } from '../../harness/meeting-link.ts';
import { waitForSurface } from '../../harness/test-surface.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { serverAndBrowser } from '../../harness/suite.ts';

let server: RunningServer;
let browser: Browser;
serverAndBrowser((s, b) => ([server, browser] = [s, b]));

it('a reconnect refused because the call filled up ends on a screen that says why', { timeout: 90_000 }, async () => {
  const meeting = `refused-${Date.now()}`;
  const url = (n: string) => `${server.url}/?meeting=${meeting}&name=${n}&mode=call&join=1${linkFragment(meeting)}`;
  const opts = { initScripts: [cameraOverride('320x180@15')] };
  const alice = await openParticipant(browser, url('Alice'), 'alice', opts);
  // Bob's signaling goes through the test: passed on, or (offline) swallowed.
  const bobContext = await browser.newContext();
  let offline = false;
  let swallowed = 0;
  await bobContext.routeWebSocket(/\/ws$/, (ws) => {
    if (offline) swallowed++;
    else ws.connectToServer();
  });
  await bobContext.grantPermissions(['camera', 'microphone']);
  const bobPage = await bobContext.newPage();
  for (const s of opts.initScripts) await bobPage.addInitScript(s);
  await bobPage.goto(url('Bob'));
  const bob = { page: bobPage, logs: [] as string[] };
  const carol = await TestClient.connect(server.url);
  await withOpenPages([alice, bob], async () => {
    await waitRejoined(alice.page, 2, undefined, 30_000);
    const bobId = await waitRejoined(bob.page, 2, undefined, 30_000);

    offline = true;
    for (const c of server.sessions) if (c.participantId === bobId) c.disconnect('INTERNAL', 'test: Bob lost his network');
    await waitForSurface(bob.page, ({ meeting: m }) => m.phase === 'reconnecting', null, { timeout: 10_000 });
    await carol.join(meeting, 'call');
    await expect.poll(() => swallowed, { timeout: 10_000 }).toBeGreaterThan(0);
    offline = false;
    const end = await waitForSurface(
      bob.page,
      ({ meeting: m }) => (m.phase === 'failed' ? { code: m.errorCode, reconnecting: m.reconnecting !== undefined } : undefined),
      null,
      { timeout: 40_000 },
    );
    expect(end).toEqual({ code: 'CALL_FULL', reconnecting: false });
    await expect.poll(() => bob.page.locator('[data-testid=join-error][data-code=CALL_FULL]').isVisible(), { timeout: 5000 }).toBe(true);
  });
  await carol.close();
});
