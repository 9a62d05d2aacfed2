// The browsers the tests run on, and typed calls into any TestPage.

import { launchChromium } from './chromium.ts';
import { launchFirefox } from './firefox.ts';
import type { BrowserName, TestBrowser, TestPage } from './types.ts';

export type { BrowserName, NewPageOptions, TestBrowser, TestPage } from './types.ts';

export function launchTestBrowser(name: BrowserName, opts: { loopbackIce?: boolean } = {}): Promise<TestBrowser> {
  return name === 'chromium' ? launchChromium() : launchFirefox(opts);
}

/**
 * Runs `fn(arg)` in the page and returns its (JSON) result. Like any page
 * function it sees only its argument, never Node's closures.
 */
export async function inPage<R, A = null>(page: TestPage, fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R> {
  return (await page.evaluate(`(${fn.toString()})(${JSON.stringify(arg ?? null)})`)) as R;
}

/** Polls `fn(arg)` in the page until it returns a truthy value; returns it. */
export async function untilInPage<R, A = null>(
  page: TestPage,
  fn: (arg: A) => R | Promise<R>,
  arg?: A,
  opts: { timeout?: number; what?: string } = {},
): Promise<NonNullable<R>> {
  const timeout = opts.timeout ?? 20_000;
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await inPage(page, fn, arg).catch((e: unknown) => {
      // A navigation in between destroys the context: that poll counts as false.
      if (e instanceof Error && /destroyed|navigat|discarded/i.test(e.message)) return undefined;
      throw e;
    });
    if (v) return v;
    if (Date.now() > deadline)
      throw new Error(`${page.label}: timed out after ${timeout} ms waiting for ${opts.what ?? fn.toString().slice(0, 100)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Closes pages whatever happens; prints their console lines if `scenario` fails. */
export async function withTestPages<T>(pages: readonly TestPage[], scenario: () => Promise<T>): Promise<T> {
  try {
    return await scenario();
  } catch (e) {
    console.log(pages.flatMap((p) => p.logs).join('\n'));
    throw e;
  } finally {
    for (const p of pages) await p.close().catch(() => {});
  }
}
