// One small interface over the browsers the tests drive, so one test body runs
// on each: Chromium through playwright-core, Firefox through puppeteer-core
// (WebDriver BiDi). Pages are read with string expressions or serialised
// functions, which both drivers evaluate outside the page's CSP.

export type BrowserName = 'chromium' | 'firefox';

export interface TestPage {
  readonly browser: BrowserName;
  readonly label: string;
  /** Console errors and warnings and page errors, for a failing test to print. */
  readonly logs: string[];
  /** Evaluates an expression in the page (a promise is awaited). */
  evaluate(expression: string): Promise<unknown>;
  /** Makes this the tab in front: Firefox holds getUserMedia until its tab has focus. */
  bringToFront(): Promise<void>;
  screenshot(file: string): Promise<void>;
  close(): Promise<void>;
}

export interface NewPageOptions {
  /** Plain JavaScript run before the page's own scripts. */
  initScripts?: string[];
  /** Open the tab in front (default true); false opens it behind the current one (Firefox; Chromium ignores it). */
  front?: boolean;
}

export interface TestBrowser {
  readonly name: BrowserName;
  /** A page in a fresh profile of its own (own storage, own identity key), loading `url`. */
  newPage(url: string, label: string, opts?: NewPageOptions): Promise<TestPage>;
  close(): Promise<void>;
}
