// In-call features in real Chromium, one server and one browser for all
// cases (browser time is the suite's budget): the alert naming a participant
// whose frames do not decrypt, the layout at phone and desktop sizes, pin,
// speaker view and pages, device switching with E2EE intact, network quality,
// raise hand and reactions sealed like chat, and accessibility.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/app.ts';
import {
  inboundStats,
  launchBrowser,
  openParticipant,
  resultsDir,
  totals,
  videoFramesDecodedFrom,
  withOpenPages,
} from '../../harness/browser.ts';
import { e2eeSnapshot } from '../../harness/e2ee-page.ts';
import { startTestBuildServer } from '../../harness/server.ts';
import { readSurface } from '../../harness/test-surface.ts';
import { linkFragment, linkSecretFor } from '../../harness/meeting-link.ts';
import { asInsider } from '../../harness/adversary/insider.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import type { RelayInterceptor } from '../../server/connection.ts';

let server: RunningServer;
let browser: Browser;

/**
 * Every relayed payload, as an insider who holds the meeting link opens it
 * (asInsider): what is inside the link envelope, so the test can show that
 * raise hand and reactions are encrypted beneath it too, like chat.
 */
const relayed: { meetingId: string; payload: string }[] = [];
const recorder: RelayInterceptor = {
  relay(room, _from, to, payload) {
    relayed.push({ meetingId: room.meetingId, payload });
    return [{ to, payload }];
  },
};

beforeAll(async () => {
  await initCrypto();
  server = await startTestBuildServer([], { relayInterceptor: asInsider({ relayInterceptor: recorder }, linkSecretFor).relayInterceptor });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const shot = (name: string): string => path.join(resultsDir(), name);
const joinUrl = (meeting: string, name: string, extra = ''): string =>
  `${server.url}/?meeting=${meeting}&name=${name}&join=1${extra}${linkFragment(meeting)}`;

/**
 * Serious and critical axe-core violations on the page. axe's source is run
 * through the DevTools protocol (page.evaluate): the app's Content-Security-Policy
 * refuses inline scripts, so page.addScriptTag({content}) would be blocked.
 */
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (ctx: Document, o: object) => Promise<{ violations: { id: string; impact?: string; nodes: { target: unknown[] }[] }[] }>;
        };
      }
    ).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
  });
}

/** Live regions on the page: the meeting keeps one, for alerts. */
const liveRegions = (page: Page): Promise<string[]> =>
  page.evaluate(() =>
    [...document.querySelectorAll('[aria-live], [role=alert], [role=status], [role=log], [role=marquee], [role=timer]')].map(
      (el) => el.getAttribute('data-testid') ?? el.className,
    ),
  );

/** The alert texts a page raised so far (the meeting's list: info alerts leave the screen after a few seconds). */
const alertTexts = (page: Page): Promise<string[]> =>
  readSurface(page, ({ meeting }) => meeting.alerts.map((a) => `${a.level}: ${a.text}`));

describe('a participant whose frames do not decrypt', () => {
  it('raises one alert naming them by their verified name, and one when their media decrypts again', async () => {
    const meeting = `undecryptable-${Date.now()}`;
    const a = await openParticipant(browser, joinUrl(meeting, 'Alice'), 'alice');
    await a.page.getByTestId('mic-toggle').waitFor();
    const m = await openParticipant(browser, joinUrl(meeting, 'Mallory', '&test=wrong-key'), 'mallory');
    await withOpenPages([a, m], async () => {
      const cannot = (texts: string[]) => texts.filter((t) => t.startsWith("error: Cannot decrypt Alice's"));
      await expect.poll(async () => cannot(await alertTexts(m.page)).length, { timeout: 20_000 }).toBe(1);
      expect(await m.page.locator('[data-testid=tile]').getAttribute('data-e2ee')).toBe('failing');
      expect(await m.page.getByTestId('alerts').textContent()).toContain("Cannot decrypt Alice's audio and video");
      // Still failing several stats ticks later: not repeated.
      await m.page.waitForTimeout(3000);
      expect(cannot(await alertTexts(m.page))).toHaveLength(1);
      expect(await m.page.locator('[data-testid=tile]').getAttribute('data-e2ee')).toBe('failing');
      await m.page.screenshot({ path: shot('decrypt-failure-alert.png') });

      // Mallory's worker takes keys unharmed from now on; a new epoch (the leader locks) gives her the right ones.
      await readSurface(m.page, ({ e2ee }) => e2ee.frames.configureForTest({ plaintext: false, corruptReceiveKeys: false }));
      await readSurface(a.page, ({ e2ee }) => e2ee.leaderAction('lock'));
      await expect
        .poll(async () => (await alertTexts(m.page)).filter((t) => t === "info: Alice's audio and video decrypt again.").length, {
          timeout: 20_000,
        })
        .toBe(1);
      await expect.poll(() => m.page.locator('[data-testid=tile]').getAttribute('data-e2ee'), { timeout: 10_000 }).toBe('ok');
      expect(cannot(await alertTexts(m.page))).toHaveLength(1);
    });
  });
});

/**
 * Every shown tile's name and E2EE badge (and the self view's name) that is
 * not what the page has at its centre: covered by something else, or off screen.
 */
function coveredLabels(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const labels = document.querySelectorAll<HTMLElement>(
      '[data-testid=tile]:not([hidden]) .name, [data-testid=tile]:not([hidden]) .e2ee-badge, [data-testid=screen-tile]:not([hidden]) .name, [data-testid=screen-tile]:not([hidden]) .e2ee-badge, [data-testid=self-tile] .name',
    );
    for (const el of labels) {
      const r = el.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      if (r.width === 0 || !hit || !el.contains(hit))
        out.push(`${el.className} "${el.textContent}" at ${Math.round(r.left)},${Math.round(r.top)} hits ${hit?.className ?? 'nothing'}`);
    }
    if (labels.length === 0) out.push('no labels');
    return out;
  });
}

/** Meeting controls (Mute, Leave, …) not shown in full at their centre: off screen, scrolled away or covered. */
function unreachableControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('nav.controls button')) {
      if (el.offsetParent === null) continue; // not shown at all (e.g. leader-only)
      const r = el.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      const inView = r.left >= 0 && r.right <= window.innerWidth && r.top >= 0 && r.bottom <= window.innerHeight;
      if (!inView || !hit || !el.contains(hit)) out.push(`"${el.textContent}" at ${Math.round(r.left)},${Math.round(r.top)}`);
    }
    return out;
  });
}

describe('a two-person meeting', () => {
  let a: Awaited<ReturnType<typeof openParticipant>>;
  let b: Awaited<ReturnType<typeof openParticipant>>;
  let aliceId: string;
  const meeting = `incall-${Date.now()}`;
  beforeAll(async () => {
    a = await openParticipant(browser, joinUrl(meeting, 'Alice'), 'alice');
    await a.page.getByTestId('mic-toggle').waitFor();
    b = await openParticipant(browser, joinUrl(meeting, 'Bob'), 'bob');
    for (const p of [a, b]) await p.page.locator('[data-testid=tile][data-e2ee=ok]').waitFor({ timeout: 30_000 });
    aliceId = (await b.page.locator('[data-testid=tile]').getAttribute('data-participant'))!;
  });
  afterAll(async () => {
    for (const p of [a, b]) await p?.page.context().close();
  });
  /** Prints both pages' console lines if the scenario fails (the pages stay open for the next case). */
  const logged = async (scenario: () => Promise<void>): Promise<void> => {
    try {
      await scenario();
    } catch (e) {
      console.log([...a.logs, ...b.logs].join('\n'));
      throw e;
    }
  };

  it('shows every name and E2EE badge at phone and desktop sizes, pins a tile, pages and features the speaker', () =>
    logged(async () => {
      for (const [w, hgt] of [
        [390, 844],
        [1280, 720],
        [1920, 1080],
      ] as const) {
        for (const p of [a, b]) await p.page.setViewportSize({ width: w, height: hgt });
        for (const p of [a, b]) await expect.poll(() => coveredLabels(p.page), { timeout: 5000 }).toEqual([]);
        // Every control, Leave included, is on screen without scrolling: on a phone they wrap onto more rows.
        for (const p of [a, b]) await expect.poll(() => unreachableControls(p.page), { timeout: 5000 }).toEqual([]);
        await b.page.screenshot({ path: shot(`two-person-${w}x${hgt}.png`) });
      }

      // Network quality from getStats: measured (not 'unknown'), with the figures in the tooltip. The level itself is
      // unit-tested (net-quality.test.ts): a loopback call on a busy machine may show jitter.
      const net = b.page.locator('[data-testid=tile] [data-testid=net-quality]');
      await expect.poll(() => net.getAttribute('data-quality'), { timeout: 10_000 }).toMatch(/^(good|fair|poor)$/);
      expect(await net.getAttribute('title')).toMatch(/^Network (good|fair|poor): loss \d+\.\d % · jitter \d+ ms · .*kbit\/s$/);
      console.log(`network quality of Alice at Bob: ${await net.getAttribute('title')}`);

      // Pin: the pinned tile is featured, and unpinning restores the grid.
      const grid = b.page.getByTestId('grid');
      await b.page.locator('[data-testid=tile] [data-testid=pin]').click();
      expect(await grid.getAttribute('data-featured')).toBe(aliceId);
      expect(await b.page.locator('[data-testid=tile] [data-testid=pin]').getAttribute('aria-pressed')).toBe('true');
      expect(await coveredLabels(b.page)).toEqual([]);
      await b.page.screenshot({ path: shot('pinned.png') });
      await b.page.locator('[data-testid=tile] [data-testid=pin]').click();
      expect(await grid.getAttribute('data-featured')).toBe('');

      // Speaker view: Alice's fake microphone plays a tone, so her received audio level makes her the speaker.
      await b.page.getByTestId('layout-toggle').click();
      expect(await grid.getAttribute('data-layout')).toBe('speaker');
      await expect.poll(() => grid.getAttribute('data-speaker'), { timeout: 10_000 }).toBe(aliceId);
      expect(await grid.getAttribute('data-featured')).toBe(aliceId);
      expect(await coveredLabels(b.page)).toEqual([]);
      await b.page.getByTestId('layout-toggle').click();

      // Pages: Alice shares her screen; at two tiles per page (the self view is one) Bob pages between her camera and her screen.
      await a.page.getByTestId('screen-toggle').click();
      const screenTile = b.page.locator('[data-testid=screen-tile]');
      await screenTile.waitFor({ state: 'attached', timeout: 15_000 });
      await b.page.getByTestId('tiles-per-page').selectOption('2');
      await expect.poll(() => b.page.getByTestId('page-info').textContent()).toBe('Page 1 of 2');
      expect(await b.page.locator('[data-testid=tile]').isVisible()).toBe(true);
      expect(await screenTile.isVisible()).toBe(false);
      expect(await b.page.getByTestId('page-prev').isDisabled()).toBe(true);
      await b.page.getByTestId('page-next').click();
      expect(await b.page.getByTestId('page-info').textContent()).toBe('Page 2 of 2');
      expect(await screenTile.isVisible()).toBe(true);
      expect(await b.page.locator('[data-testid=tile]').isVisible()).toBe(false);
      expect(await coveredLabels(b.page)).toEqual([]);
      await b.page.screenshot({ path: shot('pages.png') });
      await b.page.getByTestId('tiles-per-page').selectOption('0');
      await a.page.getByTestId('screen-toggle').click();
      await expect.poll(() => screenTile.count(), { timeout: 10_000 }).toBe(0);
      expect(await b.page.locator('.pager').isVisible()).toBe(false);
      for (const p of [a, b]) await p.page.setViewportSize({ width: 1280, height: 800 });
    }));

  it('switches the camera during the call on the same encrypting sender, and falls back to the default when it is unplugged', () =>
    logged(async () => {
      const devices = await a.page.evaluate(async () =>
        (await navigator.mediaDevices.enumerateDevices()).map((d) => `${d.kind}: ${d.label || '(no label)'}`),
      );
      console.log(`Chromium's fake devices: ${devices.join('; ')}`);
      await a.page.getByTestId('devices-toggle').click();
      const select = a.page.getByTestId('camera-select');
      await expect.poll(() => select.locator('option').count()).toBeGreaterThan(0);
      expect(await a.page.getByTestId('mic-select').locator('option').count()).toBeGreaterThan(0);

      /** Alice's camera track, whether a sender carries it with its transform, and the sender count (a renegotiation would add one). */
      const sending = () =>
        readSurface(a.page, async ({ meeting, e2ee }) => {
          const track = meeting.localTrack('video')!;
          const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter((pc) => pc.connectionState !== 'closed');
          const senders = pcs.flatMap((pc) => pc.getSenders());
          const sender = senders.find((x) => x.track === track);
          const transformed =
            e2ee.frames.path === 'script-transform' ? Boolean((sender as unknown as { transform?: unknown })?.transform) : true;
          return {
            trackId: track.id,
            onSender: Boolean(sender),
            transformed,
            senders: senders.length,
            encrypted: e2ee.frames.send.encrypted,
          };
        });
      const bobReceives = async () => ({
        decrypted: (await e2eeSnapshot(b.page)).received[aliceId]?.decrypted ?? 0,
        decoded: await videoFramesDecodedFrom(b.page, aliceId),
      });
      /** After a switch: still encrypted on the same senders, and Bob keeps decrypting and decoding. */
      const keepsFlowing = async (before: Awaited<ReturnType<typeof sending>>) => {
        const after = await sending();
        expect(after.trackId).not.toBe(before.trackId);
        expect(after.onSender).toBe(true);
        expect(after.transformed).toBe(true);
        expect(after.senders).toBe(before.senders);
        const r0 = await bobReceives();
        await expect.poll(async () => (await sending()).encrypted, { timeout: 10_000 }).toBeGreaterThan(after.encrypted + 50);
        await expect.poll(async () => (await bobReceives()).decrypted, { timeout: 10_000 }).toBeGreaterThan(r0.decrypted + 50);
        await expect.poll(async () => (await bobReceives()).decoded, { timeout: 10_000 }).toBeGreaterThan(r0.decoded + 10);
        expect(await b.page.locator('[data-testid=tile]').getAttribute('data-e2ee')).toBe('ok');
      };

      // Chromium's fake capture may list one camera: then the same device is re-acquired, still a new track on the old sender.
      const before = await sending();
      expect(before.onSender).toBe(true);
      const options = await select.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      const current = await select.inputValue();
      const other = options.find((v) => v !== current);
      if (other) await select.selectOption(other);
      else await select.dispatchEvent('change');
      await expect.poll(async () => (await sending()).trackId, { timeout: 10_000 }).not.toBe(before.trackId);
      await keepsFlowing(before);

      // Unplugged: the list no longer has the camera in use; the page falls back to the default and says so.
      const beforeUnplug = await sending();
      await readSurface(a.page, ({ meeting }) => {
        const gone = meeting.localTrack('video')!.getSettings().deviceId;
        const md = navigator.mediaDevices;
        const list = md.enumerateDevices.bind(md);
        md.enumerateDevices = async () => (await list()).filter((d) => d.deviceId !== gone);
        md.dispatchEvent(new Event('devicechange'));
      });
      await expect
        .poll(
          async () =>
            (await alertTexts(a.page)).filter((t) => /^warn: .* was disconnected: switched to the default camera\.$/.test(t)).length,
          {
            timeout: 10_000,
          },
        )
        .toBe(1);
      await keepsFlowing(beforeUnplug);
      // The microphone: Chromium lists several fake ones; the new one goes out on the old sender too.
      const mic = a.page.getByTestId('mic-select');
      const micBefore = await readSurface(a.page, ({ meeting }) => meeting.localTrack('audio')!.id);
      const mics = await mic.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      const otherMic = mics.find((v) => v !== '' && v !== 'default');
      if (otherMic) await mic.selectOption(otherMic);
      else await mic.dispatchEvent('change');
      await expect
        .poll(() => readSurface(a.page, ({ meeting }) => meeting.localTrack('audio')!.id), { timeout: 10_000 })
        .not.toBe(micBefore);
      expect(
        await readSurface(a.page, ({ meeting }) =>
          (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.some((pc) =>
            pc.getSenders().some((x) => x.track === meeting.localTrack('audio')),
          ),
        ),
      ).toBe(true);
      const audioBefore = totals(await inboundStats(b.page)).audioPackets;
      await expect.poll(async () => totals(await inboundStats(b.page)).audioPackets, { timeout: 10_000 }).toBeGreaterThan(audioBefore + 20);
      await a.page.screenshot({ path: shot('devices.png') });
      await a.page.getByTestId('devices-toggle').click();
    }));

  it('sends raise hand and reactions encrypted and signed like chat: the other side shows them, the server sees a chat blob', () =>
    logged(async () => {
      const from = relayed.length;
      await a.page.getByTestId('hand-toggle').click();
      await a.page.getByTestId('react-thumbs-up').click();
      const aliceTile = b.page.locator('[data-testid=tile]');
      await expect.poll(() => aliceTile.locator('[data-testid=hand]').isVisible(), { timeout: 5000 }).toBe(true);
      await aliceTile.locator('[data-testid=reaction][data-reaction=thumbs-up]').waitFor({ timeout: 5000 });
      expect(await a.page.getByTestId('hand-toggle').getAttribute('aria-pressed')).toBe('true');
      expect(await a.page.locator('[data-testid=self-tile] [data-testid=hand]').isVisible()).toBe(true);
      expect(await alertTexts(b.page)).toContain('info: Alice raised their hand.');
      await b.page.screenshot({ path: shot('hand-and-reaction.png') });

      // Inside the link envelope: two chat messages, and nothing that names the hand or the reaction.
      const sent = relayed.slice(from).filter((r) => r.meetingId === meeting);
      expect(sent.filter((r) => r.payload.includes('"chat"')).length).toBeGreaterThanOrEqual(2);
      for (const r of sent)
        for (const clear of ['thumbs', '👍', '\\ud83d', 'hand', 'raised', 'reaction', 'signal']) expect(r.payload).not.toContain(clear);

      await a.page.getByTestId('hand-toggle').click();
      await expect.poll(() => aliceTile.locator('[data-testid=hand]').isVisible(), { timeout: 5000 }).toBe(false);
      // Signals never show as chat messages.
      await b.page.getByTestId('chat-toggle').click();
      expect(await b.page.getByTestId('chat-log').locator('li').count()).toBe(0);
      await b.page.getByTestId('chat-toggle').click();
    }));

  it('has one live region (alerts), keyboard shortcuts with a help dialog, and no serious or critical axe violations', () =>
    logged(async () => {
      expect(await liveRegions(b.page)).toEqual(['alerts']);
      expect(await axeViolations(b.page)).toEqual([]);

      const page = a.page;
      const bobsTileOfAlice = b.page.locator('[data-testid=tile]');
      await page.locator('body').click({ position: { x: 5, y: 5 } });
      await page.keyboard.press('m');
      await expect.poll(() => page.getByTestId('mic-toggle').getAttribute('aria-pressed')).toBe('true');
      await expect.poll(() => bobsTileOfAlice.getAttribute('data-muted'), { timeout: 5000 }).toBe('true');
      await page.keyboard.press('m');
      await expect.poll(() => page.getByTestId('mic-toggle').getAttribute('aria-pressed')).toBe('false');
      await page.keyboard.press('v');
      await expect.poll(() => page.getByTestId('camera-toggle').getAttribute('aria-pressed')).toBe('true');
      await page.keyboard.press('v');
      await expect.poll(() => page.getByTestId('camera-toggle').getAttribute('aria-pressed')).toBe('false');
      await page.keyboard.press('h');
      await expect.poll(() => page.getByTestId('hand-toggle').getAttribute('aria-pressed')).toBe('true');
      await page.keyboard.press('h');
      await page.keyboard.press('c');
      await expect.poll(() => page.getByTestId('chat').isVisible()).toBe(true);
      // Typing is typing: an "m" in the chat box does not mute.
      await page.getByTestId('chat-input').press('m');
      await expect.poll(() => page.getByTestId('mic-toggle').getAttribute('aria-pressed')).toBe('false');
      await page.locator('body').click({ position: { x: 5, y: 5 } });
      await page.keyboard.press('c');
      await expect.poll(() => page.getByTestId('chat').isVisible()).toBe(false);
      await page.keyboard.press('s');
      await b.page.locator('[data-testid=screen-tile]').waitFor({ state: 'attached', timeout: 15_000 });
      await page.keyboard.press('s');
      await expect.poll(() => b.page.locator('[data-testid=screen-tile]').count(), { timeout: 10_000 }).toBe(0);

      await page.keyboard.press('?');
      const help = page.getByTestId('shortcuts-help');
      expect(await help.isVisible()).toBe(true);
      const listed = (await help.textContent()) ?? '';
      for (const what of ['Mute', 'camera', 'Share', 'chat', 'Leave', 'hand']) expect(listed).toContain(what);
      expect(await axeViolations(page)).toEqual([]);
      await page.screenshot({ path: shot('shortcuts-help.png') });
      await page.keyboard.press('Escape');
      expect(await help.isVisible()).toBe(false);

      await page.keyboard.press('l');
      expect(await page.getByTestId('end-screen').count()).toBe(0);
      await page.keyboard.press('Shift+L');
      await page.getByTestId('end-screen').waitFor({ timeout: 10_000 });
    }));
});

describe('the pre-join screen', () => {
  it('has no serious or critical axe violations', async () => {
    const p = await openParticipant(browser, `${server.url}/`, 'prejoin');
    await withOpenPages([p], async () => {
      await p.page.getByTestId('prejoin').waitFor();
      await expect.poll(() => p.page.getByTestId('prejoin-fingerprint').textContent()).toMatch(/\d/);
      expect(await axeViolations(p.page)).toEqual([]);
    });
  });
});
