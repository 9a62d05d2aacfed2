// The server refuses to serve the test build (test-only hooks such as the
// switch that turns encryption off) unless it runs with --test-mode.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../../server/app.ts';
import { isConfigError, parseConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { checkServable, TEST_BUILD_MARKER } from '../../server/test-build.ts';
import { REPO_ROOT } from '../../harness/server.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'test-build-'));
const marked = path.join(tmp, 'build-copy');
const plain = path.join(tmp, 'dist');
fs.mkdirSync(marked);
fs.mkdirSync(plain);
fs.writeFileSync(path.join(marked, TEST_BUILD_MARKER), 'test build\n');

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the test build', () => {
  it('is known by its marker file or by the name dist-test', () => {
    expect(checkServable(marked, false)).toMatchObject({ ok: false, error: { code: 'TEST_BUILD_REFUSED' } });
    expect(checkServable(path.join(tmp, 'dist-test'), false)).toMatchObject({ ok: false, error: { code: 'TEST_BUILD_REFUSED' } });
    expect(checkServable(plain, false)).toEqual({ ok: true, value: undefined });
  });

  it('is servable in test mode', () => {
    expect(checkServable(marked, true).ok).toBe(true);
  });

  it('stops startServer before anything starts, with the code and a message that names --test-mode', async () => {
    const cfg = parseConfig(['--port', '0', '--workers', '1', '--static', marked], {}, REPO_ROOT);
    if (isConfigError(cfg)) throw new Error(cfg.message);
    await expect(
      startServer(
        cfg,
        {},
        createLogger('error', () => {}),
      ),
    ).rejects.toMatchObject({
      code: 'TEST_BUILD_REFUSED',
      message: expect.stringContaining('--test-mode'),
    });
  });
});
