// TestBrowser over Debian's Chromium (playwright-core, harness/browser.ts).

import path from 'node:path';
import { launchBrowser, openParticipant } from '../browser.ts';
import type { NewPageOptions, TestBrowser, TestPage } from './types.ts';

export async function launchChromium(): Promise<TestBrowser> {
  const browser = await launchBrowser();
  return {
    name: 'chromium',
    async newPage(url: string, label: string, opts: NewPageOptions = {}): Promise<TestPage> {
      const { page, logs } = await openParticipant(browser, url, label, { initScripts: opts.initScripts });
      return {
        browser: 'chromium',
        label,
        logs,
        evaluate: (expression) => page.evaluate(expression),
        bringToFront: () => page.bringToFront(),
        screenshot: async (file) => void (await page.screenshot({ path: path.resolve(file) })),
        close: () => page.context().close(),
      };
    },
    close: () => browser.close(),
  };
}
