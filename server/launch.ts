// What every launcher of the server does around startServer: read the command
// line (usage and exit 0 for --help, one line and exit 2 for a bad option),
// start with the tap when asked, say plainly why startup failed (exit 1), and
// shut down on SIGINT/SIGTERM. server/main.ts is the production launcher; the
// test-only harness/adversary/main.ts reuses this with its own start function.

import { isConfigError, parseConfig, type ServerConfig } from './config.ts';
import type { RunningServer, ServerHooks } from './app.ts';
import { createLogger, type Logger } from './log.ts';
import { Tap } from './tap/tap.ts';

export type StartFunction = (cfg: ServerConfig, hooks: ServerHooks, log: Logger) => Promise<RunningServer>;

/** The configuration from argv and the environment, or the process exits (0 after --help, 2 on a bad option). */
export function configOrExit(argv: string[]): ServerConfig {
  const cfg = parseConfig(argv);
  if (!isConfigError(cfg)) return cfg;
  if (cfg.code === 'HELP') {
    console.log(cfg.message);
    process.exit(0);
  }
  console.error(`error: ${cfg.message}`);
  process.exit(2);
}

/** Starts the server (with the tap if configured) and keeps it up until SIGINT or SIGTERM. */
export async function runUntilSignalled(cfg: ServerConfig, start: StartFunction): Promise<void> {
  const log = createLogger(cfg.quiet ? 'warn' : 'info');
  const tap = cfg.tapDir ? new Tap(cfg.tapDir, log) : undefined;
  const hooks: ServerHooks = tap ? { roomObserver: tap, signalObserver: tap } : {};
  let server: RunningServer;
  try {
    server = await start(cfg, hooks, log);
  } catch (e) {
    console.error(`error: the server did not start: ${e instanceof Error ? e.message : String(e)}`);
    await tap?.close();
    process.exit(1);
  }
  console.log(`\n  Meeting server ready: ${server.url}/?meeting=demo\n`);

  const stop = (): void => {
    log.info('shutting down');
    void server
      .close()
      .then(() => tap?.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
