// The test build (dist-test/, `vite build --mode e2ee-test`) carries hooks a
// real meeting must never have, such as the switch that turns encryption off
// for the audit's control run. The server refuses to serve it unless it runs
// with --test-mode, so a mistyped --static cannot put it in front of people.

import fs from 'node:fs';
import path from 'node:path';
import { err, ok, type CodedError, type Result } from '../shared/result.ts';

/** The file vite.config.ts writes into the test build only. */
export const TEST_BUILD_MARKER = 'TEST_BUILD';

export type TestBuildError = CodedError<'TEST_BUILD_REFUSED'>;

export function isTestBuild(staticDir: string): boolean {
  return path.basename(path.resolve(staticDir)) === 'dist-test' || fs.existsSync(path.join(staticDir, TEST_BUILD_MARKER));
}

/** Whether this directory may be served: anything but the test build, and the test build only in test mode. */
export function checkServable(staticDir: string, testMode: boolean): Result<void, TestBuildError> {
  if (testMode || !isTestBuild(staticDir)) return ok(undefined);
  return err({
    code: 'TEST_BUILD_REFUSED',
    message: `${staticDir} is the test build (test-only hooks, e.g. encryption off): it is served only with --test-mode`,
  });
}
