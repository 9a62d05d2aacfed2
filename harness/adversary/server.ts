// Starts the real server as the adversary: the named attack's hooks added to
// the caller's (the tap's, a test's), a loud warning, and the attack's
// evidence on the returned server for tests to assert on. Test only.

import { startServer, type RunningServer, type ServerHooks } from '../../server/app.ts';
import type { ServerConfig } from '../../server/config.ts';
import { createLogger, type Logger } from '../../server/log.ts';
import type { InsiderLinks } from './insider.ts';
import { installAttack, withAttack, type InstalledAttack } from './index.ts';

export interface AdversaryServer extends RunningServer {
  /** The attack this server runs, with its evidence counters. */
  attack: InstalledAttack;
}

export async function startAdversaryServer(
  cfg: ServerConfig,
  hooks: ServerHooks = {},
  log?: Logger,
  /** Test only: the attack plays an insider who holds these meetings' links (insider.ts). */
  insider?: InsiderLinks,
): Promise<AdversaryServer> {
  log ??= createLogger(cfg.quiet ? 'warn' : 'info');
  if (cfg.attack === undefined) throw new Error('the adversary server needs --attack NAME');
  if (!cfg.testMode) throw new Error('--attack is a test-only option and is refused without --test-mode');
  const attack = await installAttack(cfg.attack, { log, ...(insider ? { insider } : {}) });
  log.warn(`ATTACK MODE ${cfg.attack}: this server is deliberately malicious (test only)`);
  let server: RunningServer;
  try {
    server = await startServer(cfg, withAttack(hooks, attack), log);
  } catch (e) {
    attack.close();
    throw e;
  }
  return {
    ...server,
    attack,
    async close() {
      attack.close();
      await server.close();
    },
  };
}
