// `--load N` for the browser benches: N busy-looping child processes (one per
// core), so a run can be measured on a loaded machine as users' laptops are.
// Separate processes, not threads of the bench, so the load competes with the
// browser and the server the way another program would.
//
// Always stopped: stop() from the bench's finally, and an exit handler for any
// other way out (runBench's process.exit, an uncaught error, SIGINT/SIGTERM).
// Each child also checks every 200 ms that its parent is still alive and exits
// by itself if not, so even a SIGKILLed bench leaves no spinning process behind.

import { spawn, type ChildProcess } from 'node:child_process';

/** The child: spin, and leave as soon as the parent is gone (a spinning process cannot wait for events). */
const SPIN = `
const parent = Number(process.argv[1]);
let next = 0;
for (;;) {
  const now = Date.now();
  if (now >= next) {
    next = now + 200;
    try { process.kill(parent, 0); } catch { process.exit(0); }
    if (process.ppid !== parent) process.exit(0);
  }
}`;

export interface CpuLoad {
  /** For the report header, e.g. "2 busy-loop processes (pids 1234, 1235)". */
  readonly description: string;
  /** Kills every child (idempotent). */
  stop(): void;
}

export function startCpuLoad(cores: number): CpuLoad {
  if (!Number.isInteger(cores) || cores < 0 || cores > 64) throw new Error(`--load must be a whole number of cores (0–64), got ${cores}`);
  const children: ChildProcess[] = [];
  for (let i = 0; i < cores; i++) {
    const child = spawn(process.execPath, ['-e', SPIN, String(process.pid)], { stdio: 'ignore' });
    child.unref();
    children.push(child);
  }
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    process.off('exit', stop);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    stop();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  if (cores > 0) {
    process.on('exit', stop);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const description =
    cores === 0
      ? 'none (no --load)'
      : `${cores} busy-loop process${cores === 1 ? '' : 'es'} (pid ${children.map((c) => c.pid).join(', ')}), one core each, for the whole run`;
  return { description, stop };
}

/** The option every browser bench takes (harness/cli.ts table entry). */
export const LOAD_OPTION = {
  kind: 'number',
  default: 0,
  arg: 'N',
  help: 'keep N cores busy with separate busy-loop processes for the whole run (bench/load.ts)',
} as const;
