/// <reference lib="webworker" />
// The bench itself, in a module Web Worker like the app's frame worker: frames
// go through the worker's own FrameCryptor stages (frame-cells.ts), so what is
// measured is the per-frame code that ships. This entry builds the cell list,
// runs it in rounds under the driver's load gate and posts the result.

import { CIPHER_SUITES, type CipherSuite } from '../../shared/sframe/index.ts';
import { copyStage, cryptoStages, FRAMES, keySetupCell, makeFrame, makeParticipants, pipelineCell, roundTripCell } from './frame-cells.ts';
import { profileCells } from './profile.ts';
import type {
  BaselineCell,
  BenchConfig,
  BenchResult,
  FrameCell,
  GateVerdict,
  KeySetup,
  PageToWorker,
  ProfileCell,
  WorkerToPage,
} from './protocol.ts';
import { calibrateTimer, copyCell, type Cell } from './sampling.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (m: WorkerToPage): void => scope.postMessage(m);
const progress = (text: string): void => post({ type: 'progress', text });

// ---- gate: the driver may hold a cell until the machine is quiet, and reject a round measured under load ----

let gateSeq = 0;
const gates = new Map<number, (verdict: GateVerdict) => void>();

function gate(kind: 'start' | 'end', label: string): Promise<GateVerdict> {
  const id = ++gateSeq;
  post({ type: 'gate', id, kind, label });
  return new Promise((resolve) => gates.set(id, resolve));
}

async function run(cfg: BenchConfig): Promise<BenchResult> {
  const started = performance.now();
  const resolutionUs = calibrateTimer();
  progress(`worker crossOriginIsolated=${String(scope.crossOriginIsolated)}, performance.now() step ${resolutionUs.toFixed(1)} µs`);

  const suites = Object.values(CIPHER_SUITES) as CipherSuite[];
  const rounds = Math.max(1, Math.round(cfg.rounds));
  const all: Cell[] = [];
  const keyCells = suites.map((suite) => keySetupCell(suite.id, Math.ceil(30 / rounds)));
  all.push(...keyCells);
  const baselineCells = FRAMES.map(({ codec, size }) => {
    const frame = makeFrame(codec, size);
    const copy = copyCell(frame, `copy-only ${codec} ${size} B`);
    const copyPipeline = pipelineCell(() => [copyStage(), copyStage()], frame, `copy-only pipeline ${codec} ${size} B`);
    all.push(copy, copyPipeline);
    return { codec, size, copy, copyPipeline };
  });

  type FrameCells = {
    suite: CipherSuite;
    codec: string;
    size: number;
    rt: ReturnType<typeof roundTripCell>;
    pl: ReturnType<typeof pipelineCell>;
  };
  const frameCells: FrameCells[] = [];
  for (const suite of suites) {
    const baseKey = crypto.getRandomValues(new Uint8Array(16));
    for (const { codec, size } of FRAMES) {
      const frame = makeFrame(codec, size);
      const rt = roundTripCell(await makeParticipants(suite.id, baseKey, codec), frame, `suite ${suite.id} ${codec} ${size} B`);
      const b = await makeParticipants(suite.id, baseKey, codec);
      const pl = pipelineCell(() => cryptoStages(b), frame, `suite ${suite.id} ${codec} ${size} B pipeline`);
      all.push(rt, pl);
      frameCells.push({ suite, codec, size, rt, pl });
    }
  }

  const profile = await profileCells();
  for (const p of profile) all.push(p.cell);

  let retried = 0;
  for (let r = 0; r < rounds; r++) {
    for (const cell of all) {
      const isProfile = profile.some((p) => p.cell === cell);
      const budget = (isProfile ? cfg.profileMs : cfg.cellMs) / rounds;
      for (let attempt = 0; ; attempt++) {
        await gate('start', cell.label);
        const commit = await cell.round(budget, Math.ceil(cfg.maxSamples / rounds), r === 0 && attempt === 0);
        const verdict = await gate('end', cell.label);
        if (verdict.keep) {
          commit(verdict.clean);
          break;
        }
        retried++;
      }
    }
    const at = ((performance.now() - started) / 1000).toFixed(1);
    progress(`round ${r + 1}/${rounds} done at ${at} s (${retried} cell rounds re-run so far)`);
  }
  for (const cell of all) progress(cell.summary());

  const baselines: BaselineCell[] = baselineCells.map((b) => ({
    codec: b.codec,
    size: b.size,
    copy: b.copy.stats(),
    copyPipeline: b.copyPipeline.stats(),
  }));
  const frames: FrameCell[] = frameCells.map((c) => ({
    suite: c.suite.id,
    suiteName: c.suite.name,
    codec: c.codec,
    size: c.size,
    ...c.rt.stats(),
    pipeline: c.pl.stats(),
  }));
  const profileOut: ProfileCell[] = profile.map((p) => ({ name: p.name, size: p.size, stats: p.cell.stats() }));
  const keySetup: KeySetup[] = keyCells.map((c) => c.stats());

  return {
    userAgent: navigator.userAgent,
    crossOriginIsolated: scope.crossOriginIsolated,
    timerResolutionUs: resolutionUs,
    hardwareConcurrency: navigator.hardwareConcurrency,
    config: cfg,
    frames,
    baselines,
    profile: profileOut,
    keySetup,
    retriedCellRounds: retried,
    elapsedMs: performance.now() - started,
  };
}

scope.onmessage = (ev: MessageEvent<PageToWorker>) => {
  const m = ev.data;
  if (m.type === 'gate-reply') {
    const resolve = gates.get(m.id);
    gates.delete(m.id);
    resolve?.({ keep: m.keep, clean: m.clean });
    return;
  }
  run(m.config).then(
    (result) => post({ type: 'done', result }),
    (e: unknown) => post({ type: 'error', message: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) }),
  );
};
