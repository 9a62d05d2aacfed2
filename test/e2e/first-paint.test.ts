// Nothing E2EE-related blocks first paint (issue #15, item 1): the pre-join
// form shows, and a `&join=1` page asks for the camera, while libsodium is
// still loading. The page holds libsodium's WebAssembly instantiation until
// the test releases it, so the order is forced, not raced.

import { describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/app.ts';
import { openParticipant, withOpenPages } from '../../harness/browser.ts';
import { joinedAs } from '../../harness/test-surface.ts';
import { linkFragment } from '../../harness/meeting-link.ts';
import { serverAndBrowser } from '../../harness/suite.ts';

let server: RunningServer;
let browser: Browser;
serverAndBrowser((s, b) => ([server, browser] = [s, b]));

/** Holds libsodium (its WebAssembly.instantiate) until window.__releaseSodium(); records when the camera is asked for. */
const HOLD_SODIUM = `(() => {
  const held = new Promise((open) => { window.__releaseSodium = open; });
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = (...args) => held.then(() => instantiate.apply(WebAssembly, args));
  window.__cameraAsked = false;
  const md = navigator.mediaDevices;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => { window.__cameraAsked = true; return gum(c); };
})();`;

/** The browser refuses WebAssembly (as some locked-down settings do). */
const NO_WASM = `(() => {
  WebAssembly.instantiate = () => Promise.reject(new Error('WebAssembly refused by the test'));
  WebAssembly.instantiateStreaming = () => Promise.reject(new Error('WebAssembly refused by the test'));
})();`;

const releaseSodium = (page: Page): Promise<void> =>
  page.evaluate(() => (window as unknown as { __releaseSodium: () => void }).__releaseSodium());

describe('first paint', () => {
  it('shows the pre-join form, and makes a new meeting link, before libsodium has loaded', { timeout: 60_000 }, async () => {
    const p = await openParticipant(browser, `${server.url}/`, 'prejoin', { initScripts: [HOLD_SODIUM] });
    await withOpenPages([p], async () => {
      await p.page.getByTestId('join').waitFor({ timeout: 15_000 });
      await p.page.getByTestId('new-meeting').click();
      expect(await p.page.getByTestId('meeting-link').textContent()).toMatch(/#s=[A-Za-z0-9_-]{43}$/);
      // Still held: the identity (which needs libsodium) is not shown yet.
      await p.page.waitForTimeout(300);
      expect(await p.page.getByTestId('prejoin-fingerprint').textContent()).toBe('');
      await releaseSodium(p.page);
      await expect.poll(() => p.page.getByTestId('prejoin-fingerprint').textContent()).toMatch(/^\d{5}( \d{5}){7}$/);
    });
  });

  it('asks for the camera while libsodium loads, and joins once it has', { timeout: 60_000 }, async () => {
    const meeting = `first-paint-${Date.now()}`;
    const url = `${server.url}/?meeting=${meeting}&name=Bob&join=1${linkFragment(meeting)}`;
    const p = await openParticipant(browser, url, 'bob', { initScripts: [HOLD_SODIUM] });
    await withOpenPages([p], async () => {
      await expect
        .poll(() => p.page.evaluate(() => (window as unknown as { __cameraAsked: boolean }).__cameraAsked), { timeout: 15_000 })
        .toBe(true);
      expect(server.sessions.size).toBe(0);
      await releaseSodium(p.page);
      expect(await joinedAs(p.page, 20_000)).toBeTruthy();
    });
  });

  it('says encryption could not start, and joins nobody, when libsodium does not load', { timeout: 60_000 }, async () => {
    const meeting = `no-sodium-${Date.now()}`;
    const url = `${server.url}/?meeting=${meeting}&name=Bob&join=1${linkFragment(meeting)}`;
    const p = await openParticipant(browser, url, 'bob', { initScripts: [NO_WASM] });
    await withOpenPages([p], async () => {
      await p.page.getByTestId('encryption-failed').waitFor({ timeout: 15_000 });
      expect(await p.page.getByTestId('encryption-failed').textContent()).toContain('you have not joined');
      expect(server.sessions.size).toBe(0);
    });
  });
});
