// Bench page: starts the bench worker, relays its progress to the console
// (the Node driver prints it) and publishes the result on window.__bench.

import type { BenchConfig, BenchResult, GateKind, GateVerdict, PageToWorker, WorkerToPage } from './protocol.ts';

interface BenchState {
  result?: BenchResult;
  error?: string;
}

const state: BenchState = {};
(window as unknown as { __bench: BenchState }).__bench = state;

const params = new URLSearchParams(location.search);
const num = (name: string, fallback: number): number => {
  const v = Number(params.get(name));
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const config: BenchConfig = {
  cellMs: num('cellMs', 1000),
  profileMs: num('profileMs', 400),
  maxSamples: num('maxSamples', 20000),
  rounds: num('rounds', 3),
};

/** Exposed by the Node driver (playwright exposeFunction); opened by hand, every round is kept. */
const driverGate = (window as unknown as { benchGate?: (kind: GateKind, label: string) => Promise<GateVerdict> }).benchGate;

const log = document.getElementById('log');
const say = (text: string): void => {
  console.log(`[bench] ${text}`);
  if (log) log.textContent += `${text}\n`;
};

say(`page crossOriginIsolated=${String(self.crossOriginIsolated)}`);
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'sframe-bench' });
worker.onmessage = (ev: MessageEvent<WorkerToPage>) => {
  const m = ev.data;
  switch (m.type) {
    case 'progress':
      say(m.text);
      break;
    case 'done':
      state.result = m.result;
      break;
    case 'error':
      state.error = m.message;
      break;
    case 'gate': {
      const reply = (v: GateVerdict): void => worker.postMessage({ type: 'gate-reply', id: m.id, ...v } satisfies PageToWorker);
      // Without the driver nobody watches the machine: keep every round, as clean.
      if (!driverGate) reply({ keep: true, clean: true });
      else driverGate(m.kind, m.label).then(reply, () => reply({ keep: true, clean: true }));
      break;
    }
  }
};
worker.onerror = (e) => {
  state.error = `worker error: ${e.message}`;
};
const run: PageToWorker = { type: 'run', config };
worker.postMessage(run);
