// Signaling server under load: N concurrent WebSocket clients (TestClient) in
// M meetings join, each relays a fixed number of timestamped messages (half to
// a random peer, half to everyone in its meeting), then all leave. The server
// runs in a child process (bench/server-load-child.ts) so its memory is its
// own; the clients run here.
//
//   npx tsx bench/server-load.ts [--clients 500] [--meetings 100] [--messages 20] [--interval 100] [--payload 256] [--cpu-prof]
//
// Rate limit (shared/protocol/signaling.ts LIMITS): 200 messages/s per
// connection sustained, burst 1000. Each client sends one relay every
// --interval ms (default 10/s) with a random start offset, far below it.

import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { LIMITS, type ServerNotice } from '../shared/protocol/signaling.ts';
import { TestClient } from '../harness/ws-client.ts';
import { parseCommandLine } from '../harness/cli.ts';
import { LoadSampler, fmt, loadavg, machine, percentile, sleep, tmpDirFor, runBench } from './perf-lib.ts';

const { values: opts } = parseCommandLine({
  command: 'npx tsx bench/server-load.ts',
  summary: 'Signaling server under load: N WebSocket clients in M meetings relay timestamped messages; latency and memory.',
  options: {
    clients: { kind: 'number', default: 500, help: 'concurrent WebSocket clients' },
    meetings: { kind: 'number', default: 100, help: 'meetings they are spread over' },
    messages: { kind: 'number', default: 20, help: 'relays each client sends' },
    interval: { kind: 'number', default: 100, help: "ms between one client's relays" },
    payload: { kind: 'number', default: 256, help: 'relay payload characters' },
    timeout: { kind: 'number', default: 60, help: 'seconds before the run gives up' },
    cpuProf: { kind: 'boolean', help: 'write a CPU profile of the server child (node --cpu-prof)' },
  },
});
const HERE = path.dirname(fileURLToPath(import.meta.url));

interface Mem {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  workerRss: number;
  cpu: number;
  sessions: number;
  lagP50: number;
  lagP99: number;
  lagMax: number;
}

class Child {
  private waiting: Array<(m: Mem) => void> = [];
  constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: { type: string } & Mem) => {
      if (m.type === 'mem') this.waiting.shift()?.(m);
    });
  }
  mem(gc = true, resetLag = false): Promise<Mem> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.proc.send({ type: 'mem', gc, resetLag });
    });
  }
  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.proc.once('exit', () => resolve());
      this.proc.send({ type: 'stop' });
    });
  }
}

async function startChild(profDir?: string): Promise<{ child: Child; url: string; gc: boolean }> {
  const execArgv = [...process.execArgv, '--expose-gc', ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [])];
  const proc = fork(path.join(HERE), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ url: string; gc: boolean }>((resolve, reject) => {
    proc.once('message', (m: { type: string; url: string; gc: boolean }) =>
      m.type === 'ready' ? resolve(m) : reject(new Error(`unexpected ${m.type}`)),
    );
    proc.once('exit', (code) => reject(new Error(`server child exited with ${code}`)));
  });
  return { child: new Child(proc), ...ready };
}

const MB = (b: number): string => (b / 2 ** 20).toFixed(1);
const KB = (b: number): string => (b / 1024).toFixed(1);

async function inBatches<T>(items: T[], size: number, f: (x: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(f));
}

interface Member {
  client: TestClient;
  id: string;
  meeting: number;
}

async function main(): Promise<void> {
  const load = new LoadSampler(2000);
  const t0 = performance.now();
  const profDir = opts.cpuProf ? tmpDirFor('server-load-prof') : undefined;
  const { child, url, gc } = await startChild(profDir);
  // Bounded: whatever hangs (a reply that never comes), the run ends and the server child dies with it.
  let phase = 'start';
  process.on('exit', () => child.proc.kill('SIGKILL'));
  setTimeout(
    () => {
      console.error(`watchdog: still in phase '${phase}' after ${opts.timeout + 60} s; giving up`);
      process.exit(2);
    },
    (opts.timeout + 60) * 1000,
  );
  console.log(`# bench/server-load.ts — ${new Date().toISOString()}`);
  console.log(`machine: ${machine()}`);
  console.log(
    `${opts.clients} clients in ${opts.meetings} meetings; ${opts.messages} relays each (first half to a random peer, second half to the whole meeting), one every ${opts.interval} ms, ${opts.payload}-char payloads; rate limit ${LIMITS.ratePerSecond}/s burst ${LIMITS.rateBurst} per connection`,
  );
  console.log(`loadavg at start: ${loadavg()}; server child gc ${gc ? 'exposed' : 'NOT exposed'}`);
  const memIdle = await child.mem();
  const members: Member[] = [];
  const joinMs: number[] = [];
  const connectMs: number[] = [];
  let errors = 0;
  const errorCodes: Record<string, number> = {};
  let teardownDone = false;

  try {
    // ---- connect and join
    phase = 'join';
    const tJoin = performance.now();
    const slots = Array.from({ length: opts.clients }, (_, i) => i);
    await inBatches(slots, 50, async (i) => {
      const a = performance.now();
      const client = await TestClient.connect(url);
      const b = performance.now();
      const r = await client.join(`load-${i % opts.meetings}`);
      connectMs.push(b - a);
      joinMs.push(performance.now() - b);
      members.push({ client, id: r.participantId, meeting: i % opts.meetings });
    });
    const joinWall = performance.now() - tJoin;
    await sleep(500); // let participant-joined notices drain
    const memJoined = await child.mem();

    // ---- relay
    phase = 'relay';
    const byMeeting = new Map<number, Member[]>();
    for (const m of members) byMeeting.set(m.meeting, [...(byMeeting.get(m.meeting) ?? []), m]);
    const lat: { uni: number[]; all: number[] } = { uni: [], all: [] };
    let expected = 0;
    let delivered = 0;
    let done: () => void = () => {};
    const allDelivered = new Promise<void>((r) => (done = r));
    for (const m of members) {
      m.client.noticeHandler = (n: ServerNotice) => {
        m.client.notices.length = 0; // TestClient keeps every notice; these are counted here instead
        if (n.type === 'error') {
          errors++;
          errorCodes[n.error.code] = (errorCodes[n.error.code] ?? 0) + 1;
          return;
        }
        if (n.type !== 'relay') return;
        const p = JSON.parse(n.payload.slice(0, n.payload.indexOf('}') + 1)) as { t: number; b: number };
        (p.b ? lat.all : lat.uni).push(performance.now() - p.t);
        if (++delivered === expected) done();
      };
    }
    for (const [, ms] of byMeeting)
      expected += ms.length * (Math.ceil(opts.messages / 2) * 1 + Math.floor(opts.messages / 2) * (ms.length - 1));
    const pad = 'x'.repeat(Math.max(0, opts.payload - 40));
    const cpuBefore = await child.mem(false, true);
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const selfBefore = process.cpuUsage();
    const tRelay = performance.now();
    const senders = members.map(async (m) => {
      const peers = byMeeting.get(m.meeting)!.filter((x) => x !== m);
      await sleep(Math.random() * opts.interval);
      for (let k = 0; k < opts.messages; k++) {
        const broadcast = k >= Math.ceil(opts.messages / 2);
        const to = broadcast ? null : peers[Math.floor(Math.random() * peers.length)]!.id;
        const payload = `{"t":${performance.now().toFixed(3)},"b":${broadcast ? 1 : 0}}${pad}`;
        void m.client.request({ type: 'relay', to, payload }).then((r) => {
          if (!r.ok) {
            errors++;
            errorCodes[r.error.code] = (errorCodes[r.error.code] ?? 0) + 1;
          }
        });
        await sleep(opts.interval);
      }
    });
    await Promise.all(senders);
    const sendWall = performance.now() - tRelay;
    const timedOut = await Promise.race([allDelivered.then(() => false), sleep(opts.timeout * 1000).then(() => true)]);
    const relayWall = performance.now() - tRelay;
    const selfCpu = process.cpuUsage(selfBefore);
    lag.disable();
    const cpuAfter = await child.mem(false);
    const memRelayed = await child.mem();

    // ---- leave
    phase = 'leave';
    const tLeave = performance.now();
    await inBatches(members, 100, async (m) => {
      m.client.noticeHandler = undefined;
      await m.client.request({ type: 'leave' });
      await m.client.close();
    });
    teardownDone = true;
    const leaveWall = performance.now() - tLeave;
    await sleep(1000); // rooms close and mediasoup routers are released
    const memLeft = await child.mem();

    // ---- leak check: the same joins and leaves again, without relays
    phase = 'second join + leave';
    const again: TestClient[] = [];
    await inBatches(
      Array.from({ length: opts.clients }, (_, i) => i),
      50,
      async (i) => {
        const client = await TestClient.connect(url);
        await client.join(`load-${i % opts.meetings}`);
        again.push(client);
      },
    );
    await inBatches(again, 100, async (c) => {
      await c.request({ type: 'leave' });
      await c.close();
    });
    await sleep(1000);
    const memAgain = await child.mem();

    // ---- report
    const sent = members.length * opts.messages;
    console.log(
      `\njoined ${members.length} clients in ${fmt(joinWall / 1000, 2)} s (connect p50 ${fmt(percentile(connectMs, 50), 1)} ms, join p50 ${fmt(percentile(joinMs, 50), 1)} / p99 ${fmt(percentile(joinMs, 99), 1)} ms)`,
    );
    console.log(
      `relayed ${sent} messages → ${delivered}/${expected} deliveries${timedOut ? ' (TIMED OUT)' : ''}; sending took ${fmt(sendWall / 1000, 2)} s, last delivery at ${fmt(relayWall / 1000, 2)} s; offered ${fmt(sent / (sendWall / 1000), 0)} msg/s, delivered ${fmt(delivered / (relayWall / 1000), 0)}/s`,
    );
    console.log(`errors: ${errors} ${JSON.stringify(errorCodes)}`);
    console.log(
      `event-loop delay during relay (ms): server p50 ${fmt(cpuAfter.lagP50, 1)} p99 ${fmt(cpuAfter.lagP99, 1)} max ${fmt(cpuAfter.lagMax, 0)}; clients' process p50 ${fmt(lag.percentile(50) / 1e6, 1)} p99 ${fmt(lag.percentile(99) / 1e6, 1)} max ${fmt(lag.max / 1e6, 0)}; CPU during relay: server ${fmt(cpuAfter.cpu - cpuBefore.cpu, 2)} s, clients ${fmt((selfCpu.user + selfCpu.system) / 1e6, 2)} s`,
    );
    console.log('\n## Relay latency (send → delivery at the recipient, ms; clients and server on the same 2 cores)\n');
    console.log('| | deliveries | p50 | p90 | p99 | max |');
    console.log('|---|---|---|---|---|---|');
    for (const [name, v] of [
      ['to one peer', lat.uni],
      ['to the meeting (4 recipients)', lat.all],
      ['all', [...lat.uni, ...lat.all]],
    ] as const) {
      console.log(
        `| ${name} | ${v.length} | ${fmt(percentile(v, 50), 2)} | ${fmt(percentile(v, 90), 2)} | ${fmt(percentile(v, 99), 2)} | ${fmt(Math.max(...v), 1)} |`,
      );
    }
    console.log('\n## Server memory (after a forced GC; MiB)\n');
    console.log('| | Node RSS | heap used | heap total | external | mediasoup worker RSS | sessions |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [name, m] of [
      ['idle', memIdle],
      ['joined', memJoined],
      ['after relays', memRelayed],
      ['after all left', memLeft],
      ['after a 2nd join + leave of all clients', memAgain],
    ] as const) {
      console.log(
        `| ${name} | ${MB(m.rss)} | ${MB(m.heapUsed)} | ${MB(m.heapTotal)} | ${MB(m.external)} | ${MB(m.workerRss)} | ${m.sessions} |`,
      );
    }
    const per = (f: (m: Mem) => number, n: number): string => KB((f(memJoined) - f(memIdle)) / n);
    console.log(
      `\nper meeting (joined − idle, ÷ ${opts.meetings}): Node RSS ${per((m) => m.rss, opts.meetings)} KiB, heap ${per((m) => m.heapUsed, opts.meetings)} KiB, worker RSS ${per((m) => m.workerRss, opts.meetings)} KiB; per client (÷ ${opts.clients}): heap ${per((m) => m.heapUsed, opts.clients)} KiB, RSS ${per((m) => m.rss, opts.clients)} KiB`,
    );
    console.log(
      `after all left vs idle: Node heap ${fmt((memLeft.heapUsed - memIdle.heapUsed) / 2 ** 20, 2)} MiB, RSS ${fmt((memLeft.rss - memIdle.rss) / 2 ** 20, 1)} MiB, worker RSS ${fmt((memLeft.workerRss - memIdle.workerRss) / 2 ** 20, 1)} MiB; leave took ${fmt(leaveWall / 1000, 2)} s; ` +
        `2nd round vs 1st: heap ${fmt((memAgain.heapUsed - memLeft.heapUsed) / 2 ** 20, 2)} MiB, RSS ${fmt((memAgain.rss - memLeft.rss) / 2 ** 20, 1)} MiB (a leak would grow by about the first round's amount)`,
    );
  } finally {
    phase = 'teardown';
    if (!teardownDone) await Promise.all(members.map((m) => m.client.close().catch(() => {})));
    await child.stop();
    if (profDir) console.log(`server CPU profile: ${profDir}`);
    console.log(`\ntotal wall time ${fmt((performance.now() - t0) / 1000, 1)} s; ${load.stop()}`);
  }
}

runBench(main);
