// Child process for bench/server-load.ts: runs the test server (real mediasoup
// worker) alone in its own Node process so its memory and CPU are not mixed
// with the 500 clients', and answers memory queries over IPC.

import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startTestServer } from '../harness/server.ts';
import { descendants, isMediasoupWorker } from './perf-lib.ts';
import { parseCommandLine } from '../harness/cli.ts';

// No options: bench/server-load.ts forks it; --help says so.
parseCommandLine({
  command: 'npx tsx bench/server-load-child.ts',
  summary: 'The server process of bench/server-load.ts (which forks it and queries it over IPC); not run by hand.',
  options: {},
});

type Query = { type: 'mem'; gc: boolean; resetLag?: boolean } | { type: 'stop' };

const lag = monitorEventLoopDelay({ resolution: 5 });
lag.enable();

function workerRssBytes(): number {
  let total = 0;
  for (const p of descendants().filter(isMediasoupWorker)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p.pid}/status`, 'utf8'));
      total += m ? Number(m[1]) * 1024 : 0;
    } catch {
      // exited
    }
  }
  return total;
}

async function main(): Promise<void> {
  const server = await startTestServer();
  const send = (m: unknown): void => void process.send?.(m);
  process.on('message', (q: Query) => {
    if (q.type === 'mem') {
      const g = (globalThis as { gc?: () => void }).gc;
      if (q.gc && g) {
        g();
        g();
      }
      const m = process.memoryUsage();
      const cpu = process.cpuUsage();
      send({
        type: 'mem',
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
        workerRss: workerRssBytes(),
        cpu: (cpu.user + cpu.system) / 1e6,
        sessions: server.sessions.size,
        lagP50: lag.percentile(50) / 1e6,
        lagP99: lag.percentile(99) / 1e6,
        lagMax: lag.max / 1e6,
      });
      if (q.resetLag) lag.reset();
    } else if (q.type === 'stop') {
      void server.close().then(() => process.exit(0));
    }
  });
  send({ type: 'ready', url: server.url, gc: typeof (globalThis as { gc?: unknown }).gc === 'function' });
}

void main();
