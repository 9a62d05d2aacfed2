// Typed access to the test build's window hook (client/src/test-surface.ts)
// from Node. Only pages served from dist-test/ (server options --static
// dist-test --test-mode) have it. The reader runs in the page: like any
// page.evaluate function it sees only its arguments, never Node's closures.
// Playwright evaluates the expression over the DevTools protocol, which the
// page's Content-Security-Policy does not restrict.

import { TEST_SURFACE_GLOBAL, type TestSurface } from '../client/src/test-surface.ts';

export { TEST_SURFACE_GLOBAL };
export type { KeyRecord, TestSurface } from '../client/src/test-surface.ts';

/** Server options that serve the test build. */
export const TEST_BUILD_ARGS: readonly string[] = ['--static', 'dist-test', '--test-mode'];

/** What the readers need of a page: a Playwright Page and a harness/browsers TestPage both have it. */
export interface EvaluatesExpressions {
  evaluate(expression: string): Promise<unknown>;
}
type Page = EvaluatesExpressions;

type Reader<A, R> = (surface: TestSurface, arg: A) => R | Promise<R>;

// Playwright evaluates a string as an expression in the page; the reader's
// source and its JSON argument are spliced into one.
function call<A, R>(read: Reader<A, R>, arg: A, missing: string): string {
  const surface = `window[${JSON.stringify(TEST_SURFACE_GLOBAL)}]`;
  return `(${surface} === undefined ? ${missing} : (${read.toString()})(${surface}, ${JSON.stringify(arg ?? null)}))`;
}

const NOT_TEST_BUILD = `(() => {
  throw new Error('no test surface on this page: serve dist-test/ (--static dist-test --test-mode) and join first');
})()`;

/** Runs `read` on the page's test surface; throws if the page has none (not the test build, or not in a meeting yet). */
export async function readSurface<R, A = null>(page: Page, read: Reader<A, R>, arg?: A): Promise<R> {
  return (await page.evaluate(call(read, arg as A, NOT_TEST_BUILD))) as R;
}

/**
 * Polls (from Node, every `polling` ms) until `test` holds on the page's test
 * surface (false while there is none yet); returns its first truthy value.
 * Not page.waitForFunction: a string predicate is compiled in the page, which
 * the app's Content-Security-Policy (no 'unsafe-eval') refuses.
 */
export async function waitForSurface<R, A = null>(
  page: Page,
  test: Reader<A, R>,
  arg?: A,
  opts: { polling?: number; timeout?: number } = {},
): Promise<R> {
  const timeout = opts.timeout ?? 30_000;
  const deadline = Date.now() + timeout;
  const expression = call(test, arg as A, 'false');
  for (;;) {
    // A navigation in between destroys the context: that poll counts as false.
    const v = (await page.evaluate(expression).catch((e: unknown) => {
      if (e instanceof Error && /context was destroyed|navigat/i.test(e.message)) return undefined;
      throw e;
    })) as R | undefined;
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`waitForSurface: timed out after ${timeout} ms: ${test.toString().slice(0, 100)}`);
    await new Promise((r) => setTimeout(r, opts.polling ?? 20));
  }
}

/** The page's participant ID once it has joined (waits for it). */
export function joinedAs(page: Page, timeout = 15_000): Promise<string> {
  return waitForSurface(page, (s) => s.meeting.join?.participantId ?? '', null, { timeout });
}

/**
 * Init-script text (plain JavaScript) that calls `onSurface(surface)` as soon
 * as the test build installs its surface, for probes that must see it first.
 */
export function onSurfaceInstalled(onSurface: string): string {
  return `(() => {
  let current;
  Object.defineProperty(window, ${JSON.stringify(TEST_SURFACE_GLOBAL)}, {
    configurable: true,
    get() { return current; },
    set(s) { current = s; if (s && typeof s === 'object') (${onSurface})(s); },
  });
})();`;
}
