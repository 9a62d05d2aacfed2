// Builds the client once before the suite: the server under test serves dist/.

import { build } from 'vite';
import { REPO_ROOT } from './helpers/server.ts';
import path from 'node:path';

export default async function setup(): Promise<void> {
  if (process.env['SKIP_CLIENT_BUILD']) return;
  await build({ configFile: path.join(REPO_ROOT, 'vite.config.ts'), root: path.join(REPO_ROOT, 'client'), logLevel: 'warn' });
}
