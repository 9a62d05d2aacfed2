// Builds the client once before the suite: the server under test serves dist/
// (the production build) or dist-test/ (the same app with test-only hooks).

import path from 'node:path';
import { build } from 'vite';
import { REPO_ROOT } from '../harness/server.ts';

export default async function setup(): Promise<void> {
  if (process.env['SKIP_CLIENT_BUILD']) return;
  for (const mode of ['production', 'e2ee-test']) {
    await build({ configFile: path.join(REPO_ROOT, 'vite.config.ts'), mode, logLevel: 'warn' });
  }
}
