// Starts the real server (real mediasoup workers) on an ephemeral port.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig, isConfigError } from '../server/config.ts';
import { startServer, type RunningServer, type ServerHooks } from '../server/app.ts';
import { createLogger } from '../server/log.ts';
import { TEST_BUILD_ARGS } from './test-surface.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function startTestServer(args: string[] = [], hooks: ServerHooks = {}): Promise<RunningServer> {
  const cfg = parseConfig(['--port', '0', '--workers', '1', '--quiet', ...args], {}, REPO_ROOT);
  if (isConfigError(cfg)) throw new Error(cfg.message);
  const lines: string[] = [];
  const log = createLogger(process.env['TEST_SERVER_LOG'] ? 'debug' : 'warn', (l) => {
    lines.push(l);
    if (process.env['TEST_SERVER_LOG']) console.log(l);
  });
  return startServer(cfg, hooks, log);
}

/**
 * A server that serves the test build (dist-test/, with the test surface the
 * page readers in harness/ need), in test mode as serving it requires.
 */
export function startTestBuildServer(args: string[] = [], hooks: ServerHooks = {}): Promise<RunningServer> {
  return startTestServer([...TEST_BUILD_ARGS, ...args], hooks);
}
