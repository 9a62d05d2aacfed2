// What a page script (an extension, an injected ad, a compromised dependency)
// can reach from `window` in the production build (dist/): nothing of the
// meeting's keys. Two participants join and agree keys; then every own
// enumerable window property the app added (compared with a blank page) is
// walked for the E2EE controller, the meeting and key bytes. The test build
// (dist-test/), which does expose its surface, must say so on every screen.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/app.ts';
import { launchBrowser, openParticipant, withOpenPages } from '../../harness/browser.ts';
import { startTestBuildServer, startTestServer } from '../../harness/server.ts';
import { TEST_SURFACE_GLOBAL } from '../../harness/test-surface.ts';
import { linkFragment } from '../../harness/meeting-link.ts';

let prod: RunningServer;
let testBuild: RunningServer;
let browser: Browser;

beforeAll(async () => {
  prod = await startTestServer();
  testBuild = await startTestBuildServer();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await prod?.close();
  await testBuild?.close();
});

/**
 * Own enumerable window properties of a page without the app (the server's
 * 404 text, same origin and so the same secure-context APIs): what the browser
 * itself and the harness's init scripts put there.
 */
async function blankWindowKeys(): Promise<string[]> {
  const blank = await openParticipant(browser, `${prod.url}/no-app-here.txt`, 'blank');
  try {
    return await blank.page.evaluate(() => Object.keys(window));
  } finally {
    await blank.page.context().close();
  }
}

interface Reachable {
  /** Window properties the app added. */
  added: string[];
  /** Paths from those properties to anything secret-looking. */
  secrets: string[];
}

/**
 * Walks what the app's own window properties reach (depth-limited) and names
 * every path that ends at key-sized bytes, a CryptoKey, a `privateKey`, or a
 * Map of participants (the meeting) or receive counters (the controller).
 */
function reachableFromWindow(page: Page, blank: string[]): Promise<Reachable> {
  return page.evaluate(
    ({ blank, surface }) => {
      const added = Object.keys(window).filter((k) => !blank.includes(k));
      if (surface in window && !added.includes(surface)) added.push(surface);
      const secrets: string[] = [];
      const seen = new Set<unknown>();
      const walk = (v: unknown, path: string, depth: number): void => {
        if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v) || depth > 6) return;
        seen.add(v);
        if (v === window || v instanceof Node) return;
        if (v instanceof Uint8Array && (v.length === 32 || v.length === 64)) secrets.push(`${path}: ${v.length} bytes`);
        if (typeof CryptoKey !== 'undefined' && v instanceof CryptoKey) secrets.push(`${path}: CryptoKey`);
        if (v instanceof Map) {
          for (const [k, x] of v) walk(x, `${path}.get(${String(k)})`, depth + 1);
          return;
        }
        let keys: string[] = [];
        try {
          keys = Object.keys(v);
        } catch {
          return;
        }
        for (const k of keys) {
          if (/privateKey|baseKey|secret|identity|e2ee|meeting/i.test(k)) secrets.push(`${path}.${k}`);
          try {
            walk((v as Record<string, unknown>)[k], `${path}.${k}`, depth + 1);
          } catch {
            // A throwing getter reaches nothing.
          }
        }
      };
      for (const k of added) walk((window as unknown as Record<string, unknown>)[k], `window.${k}`, 0);
      return { added, secrets };
    },
    { blank, surface: TEST_SURFACE_GLOBAL },
  );
}

describe('the production build (dist/)', () => {
  it('leaves nothing of the meeting or its keys reachable from window, with keys agreed', async () => {
    const blank = await blankWindowKeys();
    const meeting = `prod-window-${Date.now()}`;
    const url = (name: string) => `${prod.url}/?meeting=${meeting}&name=${name}&join=1${linkFragment(meeting)}`;
    const a = await openParticipant(browser, url('Alice'), 'alice');
    const b = await openParticipant(browser, url('Bob'), 'bob');
    await withOpenPages([a, b], async () => {
      for (const p of [a, b]) {
        // Both hold the meeting key and decrypt each other: the secrets exist in the page.
        await p.page.locator('[data-testid=tile][data-e2ee=ok]').waitFor({ timeout: 30_000 });
        const reach = await reachableFromWindow(p.page, blank);
        // The app adds no globals at all (not __e2ee, __meeting nor the test surface)...
        expect(reach.added).toEqual([]);
        // ...and, should one appear, it must reach no key material.
        expect(reach.secrets).toEqual([]);
        expect(await p.page.getByTestId('test-build-banner').count()).toBe(0);
      }
    });
  });

  it('shows no test-build banner before joining', async () => {
    const p = await openParticipant(browser, `${prod.url}/`, 'prejoin');
    await withOpenPages([p], async () => {
      await p.page.getByTestId('prejoin-fingerprint').waitFor({ timeout: 15_000 });
      expect(await p.page.getByTestId('test-build-banner').count()).toBe(0);
    });
  });
});

describe('the test build (dist-test/)', () => {
  const bannerShows = async (page: Page): Promise<void> => {
    const banner = page.getByTestId('test-build-banner');
    await banner.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await banner.textContent()).toBe('test build — not for real meetings');
  };

  it('exposes its surface, and the window walk above finds the keys it reaches', async () => {
    const blank = await blankWindowKeys();
    const p = await openParticipant(
      browser,
      `${testBuild.url}/?meeting=walk-${Date.now()}&name=Alice&join=1${linkFragment('walk')}`,
      'alice',
    );
    await withOpenPages([p], async () => {
      await p.page.getByTestId('leave').waitFor({ timeout: 15_000 });
      const reach = await reachableFromWindow(p.page, blank);
      expect(reach.added).toContain(TEST_SURFACE_GLOBAL);
      expect(reach.secrets.some((s) => s.includes('privateKey'))).toBe(true);
    });
  });

  it('says it is a test build on the pre-join screen and in the meeting', async () => {
    const prejoin = await openParticipant(browser, `${testBuild.url}/`, 'prejoin');
    const joined = await openParticipant(
      browser,
      `${testBuild.url}/?meeting=banner-${Date.now()}&name=Alice&join=1${linkFragment('banner')}`,
      'alice',
    );
    await withOpenPages([prejoin, joined], async () => {
      await prejoin.page.getByTestId('prejoin-fingerprint').waitFor({ timeout: 15_000 });
      await bannerShows(prejoin.page);
      await joined.page.getByTestId('leave').waitFor({ timeout: 15_000 });
      await bannerShows(joined.page);
    });
  });
});
