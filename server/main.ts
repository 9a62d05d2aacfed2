// Entry point: `npm start -- [options]` (see server/config.ts for the flags).

import { isConfigError, parseConfig } from './config.ts';
import { startServer, type ServerHooks } from './app.ts';
import { createLogger } from './log.ts';
import { Tap } from './tap/tap.ts';

const cfg = parseConfig(process.argv.slice(2));
if (isConfigError(cfg)) {
  console.error(cfg.message);
  process.exit(2);
}
const log = createLogger(cfg.quiet ? 'warn' : 'info');
const tap = cfg.tapDir ? new Tap(cfg.tapDir, log) : undefined;
const hooks: ServerHooks = tap ? { roomObserver: tap, signalObserver: tap } : {};
const server = await startServer(cfg, hooks, log);
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
