// The production bundle (dist/) carries no test surface: no window hook that
// reaches the E2EE controller or the meeting, no key export, no test-build
// banner. Each marker is looked for in the test build (dist-test/) too, so a
// renamed hook cannot make this check pass by looking for the wrong text.
// Source maps are left out: they hold the sources, not what the page runs.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../harness/server.ts';
import { TEST_SURFACE_GLOBAL } from '../../client/src/test-surface.ts';

function bundleText(build: 'dist' | 'dist-test'): string {
  const assets = path.join(REPO_ROOT, build, 'assets');
  const files = fs.readdirSync(assets).filter((f) => f.endsWith('.js') || f.endsWith('.css'));
  const paths = [path.join(REPO_ROOT, build, 'index.html'), ...files.map((f) => path.join(assets, f))];
  return paths.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
}

/** What only the test build may contain: its window hook, the keys it records, its banner. */
const TEST_ONLY = {
  'the test surface global': TEST_SURFACE_GLOBAL,
  "the controller's key labels (key export)": 'base key of',
  'the test-build banner': 'test-build-banner',
  'the plaintext control warning': 'TEST BUILD',
};

/** Window hooks older builds had, which must never come back. */
const NEVER = ['__e2ee', '__meeting', 'keysForTest'];

describe('the production bundle', () => {
  const prod = bundleText('dist');
  const test = bundleText('dist-test');

  it.each(Object.entries(TEST_ONLY))('has none of %s', (_what, marker) => {
    expect(test.includes(marker), `dist-test/ lacks ${marker}: the check looks for the wrong text`).toBe(true);
    expect(prod.includes(marker), `dist/ contains ${marker}`).toBe(false);
  });

  it.each(NEVER)('has no %s (in neither build)', (marker) => {
    expect(prod.includes(marker), `dist/ contains ${marker}`).toBe(false);
    expect(test.includes(marker), `dist-test/ contains ${marker}`).toBe(false);
  });
});
