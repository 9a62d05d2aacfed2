// The server under test as its own process (`node --import tsx server/main.ts`,
// test mode, the given client build), for benches that kill it or measure its
// memory apart from the bench's own.

import { spawn, type ChildProcess } from 'node:child_process';
import { LOOPBACK_MEDIA_ENV, REPO_ROOT } from '../harness/server.ts';

export interface ServerProcess {
  child: ChildProcess;
  /** When it said it was ready (ms since epoch). */
  readyAt: number;
}

/** Starts the server; resolves once it says it is ready (listening). */
export function startServerProcess(opts: { port: number; staticDir: string; extraArgs?: string[] }): Promise<ServerProcess> {
  // One process (node with tsx's loader, not the tsx launcher, which forks), so SIGKILL hits the server itself.
  const args = [
    '--import',
    'tsx',
    'server/main.ts',
    '--port',
    String(opts.port),
    '--static',
    opts.staticDir,
    '--test-mode',
    '--workers',
    '1',
    '--quiet',
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...LOOPBACK_MEDIA_ENV },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes('Meeting server ready')) {
        clearTimeout(timer);
        resolve({ child, readyAt: Date.now() });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`server exited (${String(code)}) before it was ready: ${out}`)));
  });
}

export function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
