// A network namespace made for one test, joined to the host by a veth pair,
// whose path can be impaired in both directions. A browser runs inside it
// through a wrapper that Playwright launches in place of Chromium
// (`ip netns exec NS chromium …`: the DevTools pipe fds are inherited).
// Needs root (CAP_NET_ADMIN); createNetNs says why when it cannot.
//
// The impairment is tc netem (loss, delay with jitter, rate) where the kernel
// has it. Kernels built without netem (CONFIG_NET_SCH_NETEM, e.g. some VMs)
// get the same made another way: random loss by nftables inside the
// namespace, the rate cap by tc tbf, and the delay with jitter by a middle
// namespace whose only link is a userspace forwarder (harness/l2-delay.py)
// that holds each frame for delay ± jitter; `method` says which, so a test
// can say what it really ran.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CHROMIUM } from './browser.ts';

/** Applied to each direction of the path. */
export interface Impairment {
  lossPct: number;
  delayMs: number;
  jitterMs: number;
  rateKbit: number;
}

export type ImpairMethod = 'netem' | 'nftables loss, tbf rate, userspace delay (no netem in this kernel)';

const FORWARDER = path.join(path.dirname(new URL(import.meta.url).pathname), 'l2-delay.py');

export interface NetNs {
  readonly name: string;
  /** The host end's address (bind the server here); the namespace end is `nsIp`. */
  readonly hostIp: string;
  readonly nsIp: string;
  readonly method: ImpairMethod;
  /** Sets (or replaces) the impairment on both directions. */
  impair(i: Impairment): void;
  /**
   * Cuts everything on the path but TCP to and from `keepTcpPort` (signaling),
   * so the media transports fail, ICE restarts included, while the socket lives.
   */
  cutAllBut(keepTcpPort: number): void;
  /** Undoes cutAllBut (the impairment stays). */
  uncut(): void;
  /** An executable that runs Chromium inside the namespace (for chromium.launch's executablePath). */
  chromiumWrapper(dir: string): string;
  destroy(): void;
}

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Makes the namespace and veth pair, or returns why it cannot (no root, no netns support). */
export function createNetNs(tag: string): { ok: true; ns: NetNs } | { ok: false; reason: string } {
  const id = (process.pid % 200) + 20;
  const name = `bm-${tag}-${process.pid}`;
  const host = `vbh${process.pid}`.slice(0, 15);
  const inner = `vbn${process.pid}`.slice(0, 15);
  const hostIp = `10.213.${id}.1`;
  const nsIp = `10.213.${id}.2`;
  // Without netem: host ↔ [middle: midHost … forwarder … midInner] ↔ inner.
  const middle = `${name}-m`;
  const midHost = `vma${process.pid}`.slice(0, 15);
  const midInner = `vmb${process.pid}`.slice(0, 15);
  let forwarder: ChildProcess | undefined;
  const stopForwarder = (): void => {
    forwarder?.kill('SIGKILL');
    forwarder = undefined;
  };
  const cleanup = (): void => {
    stopForwarder();
    for (const ns of [name, middle]) {
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        // not made yet
      }
    }
    try {
      run('ip', ['link', 'del', host]);
    } catch {
      // gone with the namespace
    }
  };
  let method: ImpairMethod = 'netem';
  try {
    run('ip', ['netns', 'add', name]);
    // IPv4 only inside: no IPv6 link-local address arriving after the browser started (a "network change").
    run('ip', ['netns', 'exec', name, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', inner]);
    if (!netemWorks(host)) {
      method = 'nftables loss, tbf rate, userspace delay (no netem in this kernel)';
      // The host's end goes to the middle namespace, and the namespace gets a second pair from there.
      run('ip', ['link', 'del', host]);
      run('ip', ['netns', 'add', middle]);
      run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', midHost]);
      run('ip', ['link', 'set', midHost, 'netns', middle]);
      run('ip', ['netns', 'exec', middle, 'ip', 'link', 'add', midInner, 'type', 'veth', 'peer', 'name', inner]);
      run('ip', ['netns', 'exec', middle, 'ip', 'link', 'set', inner, 'netns', name]);
      for (const dev of [midHost, midInner]) run('ip', ['netns', 'exec', middle, 'ip', 'link', 'set', dev, 'up']);
      // One segment per frame: the forwarder sends frames as they came, and a link takes no more than its MTU.
      run('ip', ['link', 'set', 'dev', host, 'gso_max_segs', '1']);
      run('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'dev', inner, 'gso_max_segs', '1']);
    } else {
      run('ip', ['link', 'set', inner, 'netns', name]);
    }
    run('ip', ['addr', 'add', `${hostIp}/24`, 'dev', host]);
    run('ip', ['link', 'set', host, 'up']);
    run('ip', ['netns', 'exec', name, 'ip', 'addr', 'add', `${nsIp}/24`, 'dev', inner]);
    run('ip', ['netns', 'exec', name, 'ip', 'link', 'set', inner, 'up']);
    run('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (e) {
    cleanup();
    const err = e as { stderr?: string; message: string };
    return { ok: false, reason: (err.stderr || err.message).trim().split('\n')[0] ?? 'unknown error' };
  }
  const forward = (delayMs: number, jitterMs: number): void => {
    stopForwarder();
    forwarder = spawn('ip', ['netns', 'exec', middle, 'python3', FORWARDER, midHost, midInner, String(delayMs), String(jitterMs)], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  };
  if (method !== 'netem') {
    forward(0, 0);
    process.once('exit', stopForwarder);
  }
  const inNs = (cmd: string, args: string[]): string => run('ip', ['netns', 'exec', name, cmd, ...args]);
  const ns: NetNs = {
    name,
    hostIp,
    nsIp,
    method,
    impair(i) {
      if (method === 'netem') {
        const netem = ['loss', `${i.lossPct}%`, 'delay', `${i.delayMs}ms`, `${i.jitterMs}ms`, 'rate', `${i.rateKbit}kbit`];
        run('tc', ['qdisc', 'replace', 'dev', host, 'root', 'netem', ...netem]);
        inNs('tc', ['qdisc', 'replace', 'dev', inner, 'root', 'netem', ...netem]);
        return;
      }
      forward(i.delayMs, i.jitterMs);
      const tbf = ['tbf', 'rate', `${i.rateKbit}kbit`, 'burst', '16kbit', 'latency', '400ms'];
      run('tc', ['qdisc', 'replace', 'dev', host, 'root', ...tbf]);
      inNs('tc', ['qdisc', 'replace', 'dev', inner, 'root', ...tbf]);
      // Loss on the namespace's side of the veth, both directions; numgen is uniform in 0..99.
      const drop = i.lossPct >= 100 ? 'drop' : i.lossPct > 0 ? `numgen random mod 100 < ${Math.round(i.lossPct)} drop` : '';
      const chain = (label: string, hook: string, match: string): string =>
        `  chain ${label} {\n    type filter hook ${hook} priority 0; policy accept;\n${drop ? `    ${match} "${inner}" ${drop}\n` : ''}  }\n`;
      const rules = `flush ruleset\ntable inet impair {\n${chain('in', 'input', 'iifname')}${chain('out', 'output', 'oifname')}}\n`;
      execFileSync('ip', ['netns', 'exec', name, 'nft', '-f', '-'], { input: rules, stdio: ['pipe', 'pipe', 'pipe'] });
    },
    cutAllBut(port) {
      // A table of its own, so it stacks on the impairment's and goes without touching it.
      const chain = (label: string, hook: string, match: string): string =>
        `  chain ${label} {\n    type filter hook ${hook} priority -10; policy accept;\n    ${match} "${inner}" tcp sport ${port} accept\n    ${match} "${inner}" tcp dport ${port} accept\n    ${match} "${inner}" drop\n  }\n`;
      const rules = `table inet cut {\n${chain('in', 'input', 'iifname')}${chain('out', 'output', 'oifname')}}\n`;
      execFileSync('ip', ['netns', 'exec', name, 'nft', '-f', '-'], { input: rules, stdio: ['pipe', 'pipe', 'pipe'] });
    },
    uncut() {
      inNs('nft', ['delete', 'table', 'inet', 'cut']);
    },
    chromiumWrapper(dir) {
      const file = path.join(dir, `chromium-in-${name}.sh`);
      fs.writeFileSync(file, `#!/bin/sh\nexec ip netns exec ${name} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
      return file;
    },
    destroy: cleanup,
  };
  return { ok: true, ns };
}

/** Whether tc can attach a netem qdisc here (the kernel may be built without it). */
function netemWorks(dev: string): boolean {
  try {
    run('tc', ['qdisc', 'add', 'dev', dev, 'root', 'netem', 'delay', '1ms']);
    run('tc', ['qdisc', 'del', 'dev', dev, 'root']);
    return true;
  } catch {
    return false;
  }
}
