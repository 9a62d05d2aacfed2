// `npm start -- --test-mode --attack NAME` lands here (package.json sends any
// command line with --attack, or E2EE_ATTACK in the environment, to this
// launcher): the same command line, tap and shutdown as server/main.ts, with
// the server started as the adversary. --attack without --test-mode is refused
// by the configuration, before anything starts.

import { configOrExit, runUntilSignalled } from '../../server/launch.ts';
import { startAdversaryServer } from './server.ts';

const cfg = configOrExit(process.argv.slice(2));
if (cfg.attack === undefined) {
  console.error('error: the adversary launcher needs --test-mode --attack NAME; the honest server is server/main.ts');
  process.exit(2);
}
await runUntilSignalled(cfg, startAdversaryServer);
