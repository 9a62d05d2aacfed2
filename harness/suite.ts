// Per-file set-up shared by the browser tests: one test-build server and one
// Chromium for all of a file's tests, closed after them.

import { afterAll, beforeAll } from 'vitest';
import type { Browser } from 'playwright-core';
import type { RunningServer, ServerHooks } from '../server/app.ts';
import { launchBrowser } from './browser.ts';
import { startTestBuildServer } from './server.ts';

/**
 * Starts the server (test build, test mode) and the browser before the file's
 * tests and hands both to `ready`; closes them after the tests.
 */
export function serverAndBrowser(
  ready: (server: RunningServer, browser: Browser) => void,
  args: string[] = [],
  hooks: ServerHooks = {},
): void {
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    server = await startTestBuildServer(args, hooks);
    browser = await launchBrowser();
    ready(server, browser);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
}
