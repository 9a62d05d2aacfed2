// A stock Firefox (no loopback ICE pref) holds a meeting with the server's
// default localhost configuration (#14 item 3). Firefox gathers no loopback
// ICE candidates, so a server offering only 127.0.0.1 cannot be reached; the
// server therefore also listens on a non-loopback address of the machine.
// Run inside a network namespace this test makes (a veth pair whose two ends
// both stay in it), so no traffic leaves loopback or the namespace. The
// control pins media to 127.0.0.1 (--rtc-ip) and shows the failure the fix
// removes.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../harness/server.ts';

const run = promisify(execFile);
const NS = `e2ee-ff-${process.pid}`;
const ADDRESS = '10.213.7.1';
// `ip` needs root; elsewhere sudo without a password, or the test fails saying so.
const options = { timeout: 120_000, cwd: REPO_ROOT };
const asRoot = (cmd: string, args: string[]) =>
  process.getuid?.() === 0 ? run(cmd, args, options) : run('sudo', ['-n', cmd, ...args], options);
const ip = (...args: string[]) => asRoot('ip', args);

beforeAll(async () => {
  await ip('netns', 'add', NS);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  await ip('-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  await ip('-n', NS, 'addr', 'add', `${ADDRESS}/24`, 'dev', 'v0');
  await ip('-n', NS, 'link', 'set', 'v0', 'up');
  await ip('-n', NS, 'link', 'set', 'v1', 'up');
});
afterAll(async () => {
  await ip('netns', 'del', NS).catch(() => {});
});

interface Outcome {
  decrypted?: number[];
  candidates?: string[];
  alerts?: string;
  error?: string;
  logs?: string[];
}

async function meetingInNamespace(serverArgs: string[]): Promise<Outcome> {
  const script = path.join(REPO_ROOT, 'test/e2e/stock-firefox/in-namespace.ts');
  const { stdout } = await asRoot('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', script, ...serverArgs]);
  const out = JSON.parse(stdout.trim().split('\n').pop()!) as Outcome;
  console.log(`stock Firefox, server ${serverArgs.join(' ') || '(defaults)'}: ${JSON.stringify(out)}`);
  return out;
}

describe('a stock Firefox and the default localhost server', () => {
  it('two stock Firefox pages reach the media server and decrypt each other; pinned to loopback they cannot', async () => {
    const fixed = await meetingInNamespace([]);
    expect(fixed.error).toBeUndefined();
    expect(Math.min(...fixed.decrypted!)).toBeGreaterThan(30);
    expect(fixed.candidates!.join(' ')).toContain(ADDRESS);

    // Control: media on 127.0.0.1 only, as before the fix.
    const loopbackOnly = await meetingInNamespace(['--rtc-ip', '127.0.0.1']);
    expect(loopbackOnly.error).toBeUndefined();
    expect(loopbackOnly.decrypted).toEqual([0, 0]);
    expect(loopbackOnly.alerts).toMatch(/Media connection .* failed/);
  });
});
