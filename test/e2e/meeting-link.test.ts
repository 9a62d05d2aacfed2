// Meeting links and their secret (#11) in real Chromium: a link without a
// secret, or with a malformed one, gets the refusal screen and never opens a
// connection to the server; two people who hold different secrets for one
// meeting ID never key each other, and each is shown to the other as outside
// the meeting; a participant ahead that never keys a newcomer cannot keep it out
// by staying silent; the Invite button copies the whole link.

import { describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { RunningServer } from '../../server/app.ts';
import { openParticipant, videoFramesDecodedFrom, withOpenPages } from '../../harness/browser.ts';
import { e2eeSnapshot } from '../../harness/e2ee-page.ts';
import { linkFragment } from '../../harness/meeting-link.ts';
import { joinedAs, readSurface } from '../../harness/test-surface.ts';
import { keepTalking } from '../../harness/chatty-insider.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { serverAndBrowser } from '../../harness/suite.ts';

let server: RunningServer;
let browser: Browser;
serverAndBrowser((s, b) => ([server, browser] = [s, b]));

/** Counts WebSockets the page opens (a join needs one). */
const COUNT_SOCKETS = `(() => {
  const Native = window.WebSocket;
  window.__socketsOpened = 0;
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.__socketsOpened++; }
  };
})();`;

describe('meeting links', () => {
  const incomplete: Array<[string, string, string]> = [
    ['no fragment', '', 'LINK_MISSING'],
    ['an empty secret', '#s=', 'LINK_MISSING'],
    ['a secret too short', '#s=' + 'A'.repeat(21), 'LINK_MALFORMED'],
    ['a secret with a character outside base64url', '#s=' + 'A'.repeat(30) + '+', 'LINK_MALFORMED'],
  ];
  it('a link without a secret, or with a malformed one, shows the refusal screen and opens no connection', async () => {
    for (const [what, hash, code] of incomplete) {
      const meeting = `incomplete-${Date.now()}`;
      const p = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Ivy&join=1${hash}`, 'ivy', {
        initScripts: [COUNT_SOCKETS],
      });
      await withOpenPages([p], async () => {
        const refused = p.page.getByTestId('link-refused');
        await refused.waitFor({ timeout: 10_000 });
        expect(await refused.getAttribute('data-code'), what).toBe(code);
        expect(await refused.textContent()).toContain('This meeting link is incomplete');
        await p.page.waitForTimeout(1000);
        expect(await p.page.evaluate(() => (window as unknown as { __socketsOpened: number }).__socketsOpened), what).toBe(0);
        expect(await p.page.getByTestId('e2ee-state').count()).toBe(0);
      });
    }
    // Control: the same page with a whole link does connect (the counter would see a join).
    const meeting = `complete-${Date.now()}`;
    const ok = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Ivy&join=1${linkFragment(meeting)}`, 'ivy', {
      initScripts: [COUNT_SOCKETS],
    });
    await withOpenPages([ok], async () => {
      await joinedAs(ok.page);
      expect(await ok.page.evaluate(() => (window as unknown as { __socketsOpened: number }).__socketsOpened)).toBeGreaterThan(0);
    });
  });

  it('two people with different secrets for one meeting ID never key each other and each sees the other as outside', async () => {
    const meeting = `two-links-${Date.now()}`;
    const other = `#s=${Buffer.alloc(32, 7).toString('base64url')}`;
    const a = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Ada&join=1${linkFragment(meeting)}`, 'ada');
    const aId = await joinedAs(a.page);
    const b = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Ben&join=1${other}`, 'ben');
    const bId = await joinedAs(b.page);
    await withOpenPages([a, b], async () => {
      for (const [p, them] of [
        [a, bId],
        [b, aId],
      ] as const) {
        // Each keys a meeting of its own (Ben stops waiting for Ada, whose payloads his link cannot open).
        await expect.poll(async () => (await e2eeSnapshot(p.page)).state, { timeout: 20_000 }).toBe('ok');
        const tile = p.page.locator(`[data-testid=tile][data-participant="${them}"]`);
        await expect
          .poll(async () => (await tile.locator('.tile-note').textContent()) ?? '', { timeout: 10_000 })
          .toMatch(/^Outside this meeting/);
        expect(await tile.getAttribute('data-in-key')).toBe('false');
        // Named by no one: not the name the other typed.
        expect(await tile.locator('.name').textContent()).not.toMatch(/Ada|Ben/);
        await expect
          .poll(() => p.page.locator('[data-testid=alerts] .alert').allTextContents(), { timeout: 5000 })
          .toEqual(expect.arrayContaining([expect.stringContaining('not sealed with this meeting')]));
      }
      await a.page.waitForTimeout(2000);
      const [sa, sb] = await Promise.all([e2eeSnapshot(a.page), e2eeSnapshot(b.page)]);
      expect(sa.securityCode).not.toBe(sb.securityCode);
      expect(await videoFramesDecodedFrom(a.page, bId)).toBe(0);
      expect(await videoFramesDecodedFrom(b.page, aId)).toBe(0);
      const roster = (p: typeof a) => readSurface(p.page, ({ e2ee }) => e2ee.roster.map((m) => m.participantId));
      expect(await roster(a)).toEqual([aId]);
      expect(await roster(b)).toEqual([bId]);
    });
  });

  it('a newcomer behind a participant that never speaks (one the server runs) starts the meeting key itself after 2 s and says so; the next newcomer joins it', async () => {
    const meeting = `silent-ahead-${Date.now()}`;
    // Joined first, holds no link and sends nothing. Before protocol version 5 everyone after it waited for it for ever.
    const ghost = await TestClient.connect(server.url);
    await ghost.join(meeting);
    const a = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Noa&join=1${linkFragment(meeting)}`, 'noa');
    try {
      await withOpenPages([a], async () => {
        const aId = await joinedAs(a.page);
        const joinedAt = Date.now();
        await expect.poll(async () => (await e2eeSnapshot(a.page)).state, { timeout: 10_000 }).toBe('ok');
        // It waited for the participant ahead first (silentAheadMs, 2 s).
        expect(Date.now() - joinedAt).toBeGreaterThanOrEqual(1500);
        await expect
          .poll(() => a.page.locator('[data-testid=alerts] .alert').allTextContents(), { timeout: 5000 })
          .toEqual(expect.arrayContaining([expect.stringContaining('you started the meeting key yourself')]));
        const b = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Ravi&join=1${linkFragment(meeting)}`, 'ravi');
        await withOpenPages([b], async () => {
          const bId = await joinedAs(b.page);
          const roster = (p: typeof a) => readSurface(p.page, ({ e2ee }) => e2ee.roster.map((m) => m.participantId));
          await expect.poll(() => roster(b), { timeout: 15_000 }).toEqual([aId, bId]);
          await expect.poll(async () => (await e2eeSnapshot(b.page)).state, { timeout: 10_000 }).toBe('ok');
          await expect.poll(() => roster(a), { timeout: 10_000 }).toEqual([aId, bId]);
          const [sa, sb] = await Promise.all([e2eeSnapshot(a.page), e2eeSnapshot(b.page)]);
          expect(sa.securityCode).toBe(sb.securityCode);
        });
      });
    } finally {
      await ghost.close();
    }
  });

  it('a newcomer behind a participant that holds the link and keeps talking but never keys it is told after 15 s that no key came', async () => {
    const meeting = `chatty-ahead-${Date.now()}`;
    // Joined first, seals a refused commit with the link every 500 ms: not silent, so the newcomer keeps waiting for it.
    const ghost = await TestClient.connect(server.url);
    const stopTalking = await keepTalking(ghost, await ghost.join(meeting));
    const p = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Noa&join=1${linkFragment(meeting)}`, 'noa');
    try {
      await withOpenPages([p], async () => {
        await joinedAs(p.page);
        const note = p.page.getByTestId('e2ee-long-wait');
        await p.page.waitForTimeout(5000);
        // A normal join takes a second or two: no note yet.
        expect(await note.count()).toBe(0);
        expect((await e2eeSnapshot(p.page)).state).toBe('waiting-for-key');
        await expect.poll(() => note.count(), { timeout: 15_000 }).toBe(1);
        expect(await note.textContent()).toMatch(/^No meeting key after 1[5-9] s: your audio and video are not sent\./);
        await expect
          .poll(() => p.page.locator('[data-testid=alerts] .alert').allTextContents(), { timeout: 5000 })
          .toEqual(expect.arrayContaining([expect.stringContaining('No meeting key after')]));
        expect(await p.page.getByTestId('e2ee-state').getAttribute('data-state')).toBe('waiting-for-key');
      });
    } finally {
      stopTalking();
      await ghost.close();
    }
  });

  it('Invite copies the whole link, secret included', async () => {
    const meeting = `invite-${Date.now()}`;
    const p = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Ivo&join=1${linkFragment(meeting)}`, 'ivo');
    await withOpenPages([p], async () => {
      await joinedAs(p.page);
      await p.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
      await p.page.getByTestId('invite').click();
      await expect
        .poll(() => p.page.evaluate(() => navigator.clipboard.readText()), { timeout: 5000 })
        .toBe(`${server.url}/?meeting=${meeting}${linkFragment(meeting)}`);
    });
  });

  it('the leader’s New link reaches the others’ address bars and Invite; the old link then admits nobody new, the new one does', async () => {
    const meeting = `new-link-${Date.now()}`;
    const old = linkFragment(meeting);
    const lead = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Lea&join=1${old}`, 'lea');
    await joinedAs(lead.page);
    const bob = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Bob&join=1${old}`, 'bob');
    const bobId = await joinedAs(bob.page);
    const pages = [lead, bob];
    try {
      for (const p of pages) await expect.poll(async () => (await e2eeSnapshot(p.page)).state, { timeout: 20_000 }).toBe('ok');
      const before = (await e2eeSnapshot(lead.page)).epoch;
      await lead.page.getByTestId('security-panel-toggle').click();
      await lead.page.getByTestId('new-link').click();
      // Both address bars move to one new secret, with the next epoch.
      const hashOf = (p: typeof lead) => p.page.evaluate(() => location.hash);
      await expect.poll(() => hashOf(lead), { timeout: 10_000 }).not.toBe(old);
      const fresh = await hashOf(lead);
      expect(fresh).toMatch(/^#s=[A-Za-z0-9_-]{43}$/);
      await expect.poll(() => hashOf(bob), { timeout: 10_000 }).toBe(fresh);
      for (const p of pages) {
        await expect.poll(async () => (await e2eeSnapshot(p.page)).epoch, { timeout: 10_000 }).toBeGreaterThan(before);
        expect((await e2eeSnapshot(p.page)).state).toBe('ok');
      }
      await expect
        .poll(() => bob.page.locator('[data-testid=alerts] .alert').allTextContents(), { timeout: 5000 })
        .toEqual(expect.arrayContaining([expect.stringContaining("The leader replaced this meeting's link")]));
      await lead.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
      await lead.page.getByTestId('invite').click();
      await expect
        .poll(() => lead.page.evaluate(() => navigator.clipboard.readText()), { timeout: 5000 })
        .toBe(`${server.url}/?meeting=${meeting}${fresh}`);

      // Someone with the leaked link: kept outside, nobody keys it.
      const eve = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Eve&join=1${old}`, 'eve');
      pages.push(eve);
      const eveId = await joinedAs(eve.page);
      const tileOfEve = lead.page.locator(`[data-testid=tile][data-participant="${eveId}"]`);
      await expect
        .poll(async () => (await tileOfEve.locator('.tile-note').textContent()) ?? '', { timeout: 15_000 })
        .toMatch(/^Outside this meeting/);
      await expect
        .poll(() => lead.page.locator('[data-testid=alerts] .alert').allTextContents(), { timeout: 5000 })
        .toEqual(expect.arrayContaining([expect.stringContaining('sealed with the link the leader replaced')]));
      const roster = (p: typeof lead) => readSurface(p.page, ({ e2ee }) => e2ee.roster.map((m) => m.participantId));
      expect(await roster(lead)).not.toContain(eveId);
      expect(await roster(eve)).not.toContain(bobId);

      // Someone with the new link: keyed, same code.
      const fay = await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=Fay&join=1${fresh}`, 'fay');
      pages.push(fay);
      const fayId = await joinedAs(fay.page);
      await expect.poll(async () => (await e2eeSnapshot(fay.page)).state, { timeout: 20_000 }).toBe('ok');
      await expect.poll(() => roster(lead), { timeout: 10_000 }).toContain(fayId);
      await expect
        .poll(async () => (await e2eeSnapshot(fay.page)).securityCode, { timeout: 10_000 })
        .toBe((await e2eeSnapshot(lead.page)).securityCode);
      expect(await roster(lead)).not.toContain(eveId);
    } finally {
      for (const p of pages) await p.page.context().close();
    }
  });
});
