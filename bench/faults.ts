// Recovery times after faults (issue #13), in a two-person meeting served by a
// real server process (`tsx server/main.ts`, the test build, one worker):
//
//   socket-drop  Bob's signaling socket closes (the server stays up): from the
//                drop until both decode each other again (Bob rejoined, re-keyed).
//   sigterm      SIGTERM, then a new server process on the same port: from the
//                new server listening until both decode each other again.
//   kill9        the same with SIGKILL (no notice).
//   worker       SIGKILL of the meeting's mediasoup worker: from the kill until
//                both decode each other again on new transports (no rejoin).
//
// "Decode again": each page holds a camera track of the other that is not the
// one it held before the fault, and has decoded more than 5 frames on it, and
// both pages show the same security code. Polled every 100 ms from Node, so a
// figure is up to ~0.2 s late. Prints p50 and p90 per fault.
//
//   npm run bench:faults -- [--tries 5] [--faults socket-drop,sigterm,kill9,worker]

import type { Page } from 'playwright-core';
import { cameraOverride, closePages, launchBrowser, openParticipant, videoFramesDecodedFrom } from '../harness/browser.ts';
import { parseCommandLine } from '../harness/cli.ts';
import { e2eeSnapshot } from '../harness/e2ee-page.ts';
import { cameraConsumerOf } from '../harness/fault-pages.ts';
import { linkFragment } from '../harness/meeting-link.ts';
import { readSurface } from '../harness/test-surface.ts';
import { descendants, fmt, frozenBuild, isMediasoupWorker, loadavg, machine, percentile, runBench, sleep } from './perf-lib.ts';
import { startServerProcess, stopProcess } from './server-process.ts';

const FAULTS = ['socket-drop', 'sigterm', 'kill9', 'worker'] as const;
type Fault = (typeof FAULTS)[number];

const { values: opts } = parseCommandLine({
  command: 'npm run bench:faults --',
  summary:
    'Recovery times of a two-person meeting after a dropped socket, a server restart (SIGTERM, SIGKILL) and a killed mediasoup worker.',
  options: {
    tries: { kind: 'number', default: 5, help: 'tries per fault' },
    faults: { kind: 'string', default: FAULTS.join(','), arg: 'LIST', help: `comma-separated subset of ${FAULTS.join(', ')}` },
    port: { kind: 'number', default: 3917, help: 'port of the server under test (loopback)' },
    timeout: { kind: 'number', default: 60, help: 'seconds to wait for a recovery' },
  },
});

const faults = opts.faults.split(',').map((f) => f.trim()) as Fault[];
for (const f of faults) if (!FAULTS.includes(f)) throw new Error(`unknown fault ${f}; one of ${FAULTS.join(', ')}`);

const build = frozenBuild('dist-test');

const startServer = () => startServerProcess({ port: opts.port, staticDir: build.path });

interface Party {
  page: Page;
  logs: string[];
}

/** Each page's id, and the camera consumer it holds of the other (what "again" is measured against). */
async function state(pages: Party[]): Promise<{ ids: string[]; consumers: Array<string | undefined> }> {
  const ids = await Promise.all(pages.map((p) => readSurface(p.page, ({ meeting }) => meeting.join?.participantId ?? '')));
  const consumers = await Promise.all(pages.map((p, i) => cameraConsumerOf(p.page, ids[1 - i]!)));
  return { ids, consumers };
}

/** Polls until both decode each other on new tracks and show one security code; returns when (ms since epoch). */
async function recovered(pages: Party[], before: { consumers: Array<string | undefined> }): Promise<number> {
  const deadline = Date.now() + opts.timeout * 1000;
  for (;;) {
    const ok = await (async () => {
      const snaps = await Promise.all(pages.map((p) => e2eeSnapshot(p.page).catch(() => undefined)));
      if (snaps.some((s) => !s || s.roster.length !== 2 || !s.securityCode)) return false;
      if (new Set(snaps.map((s) => s!.securityCode)).size !== 1) return false;
      for (const [i, p] of pages.entries()) {
        const other = snaps[1 - i]!.selfId;
        const consumer = await cameraConsumerOf(p.page, other);
        if (!consumer || consumer === before.consumers[i]) return false;
        if ((await videoFramesDecodedFrom(p.page, other)) <= 5) return false;
      }
      return true;
    })().catch(() => false);
    if (ok) return Date.now();
    if (Date.now() > deadline) throw new Error(`no recovery within ${opts.timeout} s`);
    await sleep(100);
  }
}

async function main(): Promise<void> {
  console.log(`bench:faults on ${machine()}, load ${loadavg()}, client ${build.label}`);
  let server = await startServer();
  const browser = await launchBrowser();
  const meeting = `faults-bench-${Date.now()}`;
  const url = (n: string) => `http://localhost:${opts.port}/?meeting=${meeting}&name=${n}&join=1${linkFragment(meeting)}`;
  const init = { initScripts: [cameraOverride('320x180@15')] };
  const pages: Party[] = [
    await openParticipant(browser, url('Alice'), 'alice', init),
    await openParticipant(browser, url('Bob'), 'bob', init),
  ];
  const times: Record<Fault, number[]> = { 'socket-drop': [], sigterm: [], kill9: [], worker: [] };
  try {
    await recovered(pages, { consumers: [undefined, undefined] });
    for (let t = 0; t < opts.tries; t++) {
      for (const fault of faults) {
        await sleep(2000); // settle: both decoding, no rotation in flight
        const before = await state(pages);
        let from: number;
        if (fault === 'socket-drop') {
          from = Date.now();
          await readSurface(pages[1]!.page, ({ meeting: m }) => m.signalingClient?.close());
        } else if (fault === 'worker') {
          const worker = descendants(server.child.pid).find(isMediasoupWorker);
          if (!worker) throw new Error('no mediasoup worker found under the server process');
          from = Date.now();
          process.kill(worker.pid, 'SIGKILL');
        } else {
          await stopProcess(server.child, fault === 'sigterm' ? 'SIGTERM' : 'SIGKILL');
          server = await startServer();
          from = server.readyAt;
        }
        const at = await recovered(pages, before);
        times[fault].push(at - from);
        console.log(`try ${t + 1} ${fault}: ${fmt((at - from) / 1000, 2)} s (load ${loadavg()})`);
      }
    }
  } finally {
    await closePages(pages);
    await browser.close();
    await stopProcess(server.child, 'SIGTERM');
    build.cleanup();
  }
  console.log('\nfault         measured from             tries   p50 s   p90 s');
  const origin: Record<Fault, string> = {
    'socket-drop': 'the drop',
    sigterm: 'the server listening again',
    kill9: 'the server listening again',
    worker: 'the kill',
  };
  for (const f of faults) {
    const v = times[f];
    console.log(
      `${f.padEnd(13)} ${origin[f].padEnd(25)} ${String(v.length).padStart(5)}   ${fmt(percentile(v, 50) / 1000, 2).padStart(5)}   ${fmt(percentile(v, 90) / 1000, 2).padStart(5)}`,
    );
  }
}

runBench(main);
