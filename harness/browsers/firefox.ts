// TestBrowser over Debian's Firefox ESR, driven by puppeteer-core over
// WebDriver BiDi (no geckodriver, no browser download).

import fs from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { TRACK_PEER_CONNECTIONS } from '../browser.ts';
import type { NewPageOptions, TestBrowser, TestPage } from './types.ts';

const FIREFOX = process.env['FIREFOX_PATH'] ?? '/usr/bin/firefox-esr';

/** Fake camera and microphone, granted without a prompt; media plays without a gesture. */
const FIREFOX_MEDIA_PREFS: Readonly<Record<string, unknown>> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': false,
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  // Background tabs keep their timers: several participants share one browser.
  'dom.min_background_timeout_value': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
};

/**
 * Firefox gathers no loopback ICE candidates by default. Tests in the host's
 * network namespace pin the server's media to 127.0.0.1 (traffic stays on
 * loopback), so they need this pref; the stock-Firefox test runs without it
 * inside a namespace of its own (test/e2e/stock-firefox.test.ts).
 */
const FIREFOX_LOOPBACK_PREFS: Readonly<Record<string, unknown>> = {
  'media.peerconnection.ice.loopback': true,
};

export async function launchFirefox(opts: { loopbackIce?: boolean } = {}): Promise<TestBrowser> {
  // Fail loudly: CI installs firefox-esr through npm test's setup.
  if (!fs.existsSync(FIREFOX)) throw new Error(`${FIREFOX} is missing: run 'bash scripts/setup-system.sh' (npm test does)`);
  const browser: Browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    protocol: 'webDriverBiDi',
    headless: true,
    defaultViewport: { width: 1280, height: 800 },
    extraPrefsFirefox: { ...FIREFOX_MEDIA_PREFS, ...(opts.loopbackIce === false ? {} : FIREFOX_LOOPBACK_PREFS) },
  });
  return {
    name: 'firefox',
    async newPage(url: string, label: string, o: NewPageOptions = {}): Promise<TestPage> {
      // One browser context per participant: its own IndexedDB, so its own identity key.
      const context = await browser.createBrowserContext();
      const page = await context.newPage({ background: o.front === false });
      const logs = watchConsole(page, label);
      for (const script of [TRACK_PEER_CONNECTIONS, ...(o.initScripts ?? [])]) await page.evaluateOnNewDocument(script);
      if (o.front !== false) await page.bringToFront(); // a test may have moved another tab in front
      await page.goto(url);
      return {
        browser: 'firefox',
        label,
        logs,
        evaluate: (expression) => page.evaluate(expression),
        bringToFront: () => page.bringToFront(),
        screenshot: async (file) => void (await page.screenshot({ path: path.resolve(file) as `${string}.png` })),
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

function watchConsole(page: Page, label: string): string[] {
  const lines: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') lines.push(`[${label} ${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => lines.push(`[${label} pageerror] ${e instanceof Error ? e.message : String(e)}`));
  return lines;
}
