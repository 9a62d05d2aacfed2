// Starts the real server (real mediasoup workers) on an ephemeral port.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig, isConfigError } from '../server/config.ts';
import { startServer, type RunningServer, type ServerHooks } from '../server/app.ts';
import { createLogger } from '../server/log.ts';
import { TEST_BUILD_ARGS } from './test-surface.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Media pinned to 127.0.0.1 (which also turns off the second, non-loopback
 * address the server listens on for Firefox when serving localhost): tests
 * send traffic to loopback only. Pass `{}` for the production default, as
 * the stock-Firefox test does inside a network namespace of its own.
 */
export const LOOPBACK_MEDIA_ENV: Readonly<Record<string, string>> = { RTC_LISTEN_IP: '127.0.0.1' };

export async function startTestServer(
  args: string[] = [],
  hooks: ServerHooks = {},
  env: Readonly<Record<string, string>> = LOOPBACK_MEDIA_ENV,
): Promise<RunningServer> {
  const cfg = parseConfig(['--port', '0', '--workers', '1', '--quiet', ...args], { ...env }, REPO_ROOT);
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
export function startTestBuildServer(
  args: string[] = [],
  hooks: ServerHooks = {},
  env: Readonly<Record<string, string>> = LOOPBACK_MEDIA_ENV,
): Promise<RunningServer> {
  return startTestServer([...TEST_BUILD_ARGS, ...args], hooks, env);
}
