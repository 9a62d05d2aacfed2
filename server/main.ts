// Entry point: `npm start -- [options]` (see server/config.ts for the flags).
// This is the production server: it runs no attack code. `--test-mode --attack
// NAME` is served by harness/adversary/main.ts, where `npm start` sends it.

import { startServer } from './app.ts';
import { configOrExit, runUntilSignalled } from './launch.ts';

const cfg = configOrExit(process.argv.slice(2));
if (cfg.attack !== undefined) {
  console.error('error: the production server runs no attacks; start it with `npm start -- --test-mode --attack NAME`');
  process.exit(2);
}
await runUntilSignalled(cfg, startServer);
