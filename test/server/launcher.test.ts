// The server as people start it, in its own process: `npm start -- …` (its
// dispatch: the production server, or the test-only adversary for --attack),
// --help and bad options, the test build refused without --test-mode, a
// malformed request that used to end the process (issue #12: `GET /%ff`), and
// the "server restarting" notice on SIGTERM (issue #13).

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION } from '../../shared/protocol/signaling.ts';
import { REPO_ROOT } from '../../harness/server.ts';
import { rawRequest } from './raw-http.ts';

const TSX = path.join(REPO_ROOT, 'node_modules/.bin/tsx');
/** Small enough for one mediasoup worker on a shared machine. */
const LIGHT = ['--port', '0', '--workers', '1', '--quiet'];

interface Launched {
  child: ChildProcess;
  output: () => string;
  /** The URL from the "ready" line, or undefined if the process exited first. */
  ready: Promise<string | undefined>;
  exited: Promise<number | null>;
}

const launched: Launched[] = [];

afterEach(async () => {
  for (const l of launched.splice(0)) {
    // Its own process group: tsx and the node (and mediasoup worker) under it.
    if (l.child.exitCode === null && l.child.pid !== undefined) process.kill(-l.child.pid, 'SIGTERM');
    await l.exited;
  }
});

function launch(command: string, args: string[], env: Record<string, string> = {}): Launched {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<string | undefined>((resolve) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /Meeting server ready: (\S+)\/\?meeting=demo/.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => resolve(undefined));
  });
  const l = { child, output: () => out, ready, exited };
  launched.push(l);
  return l;
}

/** What `npm start -- ARGS` runs after setup and build: the start script's dispatch, with ARGS appended as npm does. */
function npmStart(args: string[], env: Record<string, string> = {}): Launched {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const dispatch = pkg.scripts['start']!.split('npm run -s build && ')[1]!;
  const pathWithBin = `${path.join(REPO_ROOT, 'node_modules/.bin')}${path.delimiter}${process.env['PATH'] ?? ''}`;
  return launch('sh', ['-c', `${dispatch} ${args.join(' ')}`], { PATH: pathWithBin, ...env });
}

describe('npm start', () => {
  it('prints the usage for --help and exits 0', async () => {
    const l = launch(TSX, ['server/main.ts', '--help']);
    expect(await l.exited).toBe(0);
    expect(l.output()).toContain('Usage: npm start -- [options]');
    expect(l.output()).toContain('--static DIR');
  });

  it('refuses a bad option with one line that points to --help, and exits 2', async () => {
    const l = launch(TSX, ['server/main.ts', '--prot', '1']);
    expect(await l.exited).toBe(2);
    expect(l.output().trim().split('\n')).toEqual([expect.stringMatching(/^error: Unknown option '--prot'.*--help/)]);
  });

  it('answers GET /%ff with 400 and goes on serving the app', async () => {
    const l = npmStart(LIGHT);
    const url = await l.ready;
    expect(url, l.output()).toBeDefined();
    const port = Number(new URL(url!).port);
    const bad = await rawRequest(port, 'GET /%ff HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(bad.status).toBe(400);
    const app = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(app.status).toBe(200);
    expect(l.child.exitCode).toBeNull();
    // It is the production server: no attack on it.
    expect(l.output()).not.toContain('ATTACK MODE');
  });

  it('on SIGTERM tells a joined client the server is restarting, closes its socket with 1012 and exits 0', async () => {
    // The server process itself (node with tsx's loader), so its own exit code is seen.
    const l = launch(process.execPath, ['--import', 'tsx', 'server/main.ts', ...LIGHT]);
    const url = await l.ready;
    expect(url, l.output()).toBeDefined();
    const ws = new WebSocket(`${url!.replace(/^http/, 'ws')}/ws`);
    const received: string[] = [];
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    const joined = new Promise<void>((resolve) =>
      ws.on('message', (d: Buffer) => {
        received.push(d.toString());
        if (received.length === 1) resolve();
      }),
    );
    await new Promise<void>((resolve) => ws.on('open', () => resolve()));
    ws.send(JSON.stringify({ id: 1, type: 'join', v: PROTOCOL_VERSION, meetingId: 'restart-notice', mode: 'meeting' }));
    await joined;
    expect(JSON.parse(received[0]!)).toMatchObject({ type: 'response', id: 1, ok: true });
    l.child.kill('SIGTERM');
    expect(await closed).toBe(1012);
    expect(received.slice(1).map((m) => JSON.parse(m) as { type: string })).toEqual([{ type: 'server-restarting' }]);
    expect(await l.exited).toBe(0);
  });

  it('runs --test-mode --attack NAME as the adversary, and says so', async () => {
    const l = npmStart([...LIGHT, '--test-mode', '--attack', 'tamper']);
    expect(await l.ready, l.output()).toBeDefined();
    expect(l.output()).toMatch(/WARN\s+ATTACK MODE tamper: this server is deliberately malicious \(test only\)/);
  });

  it('refuses --attack without --test-mode, as a flag or from the environment', async () => {
    for (const l of [npmStart([...LIGHT, '--attack', 'ghost']), npmStart(LIGHT, { E2EE_ATTACK: 'ghost' })]) {
      expect(await l.exited).toBe(2);
      expect(l.output()).toContain('--attack is a test-only option and is refused without --test-mode');
    }
  });

  it('the production entry point runs no attack even in test mode', async () => {
    const l = launch(TSX, ['server/main.ts', ...LIGHT, '--test-mode', '--attack', 'ghost']);
    expect(await l.exited).toBe(2);
    expect(l.output()).toContain('the production server runs no attacks');
  });
});

describe('the test build', () => {
  it('carries the TEST_BUILD marker (vite build --mode e2ee-test)', () => {
    expect(fs.existsSync(path.join(REPO_ROOT, 'dist-test', 'TEST_BUILD'))).toBe(true);
    expect(fs.existsSync(path.join(REPO_ROOT, 'dist', 'TEST_BUILD'))).toBe(false);
  });

  it('is refused without --test-mode: startup fails with a clear error', async () => {
    // A copy elsewhere (as the benchmarks make) is known by its marker, not its name.
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'copied-build-'));
    fs.cpSync(path.join(REPO_ROOT, 'dist-test'), copy, { recursive: true });
    try {
      for (const dir of ['dist-test', copy]) {
        const l = npmStart([...LIGHT, '--static', dir]);
        expect(await l.exited, l.output()).toBe(1);
        expect(l.output()).toMatch(/error: the server did not start: .* is the test build .* served only with --test-mode/);
      }
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });

  it('is served with --test-mode', async () => {
    const l = npmStart([...LIGHT, '--static', 'dist-test', '--test-mode']);
    const url = await l.ready;
    expect(url, l.output()).toBeDefined();
    const app = await rawRequest(Number(new URL(url!).port), 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(app.status).toBe(200);
  });
});
