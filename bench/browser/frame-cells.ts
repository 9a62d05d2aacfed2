// The bench cells that push frames through the app's own per-frame code: the
// frame worker's FrameCryptor stages (client/src/e2ee/worker/pipeline.ts) with
// a WorkerKeys per participant, exactly as the worker builds them. Only the
// counters differ: a drop throws here, because the bench must not hide one.

import { WorkerKeys } from '../../client/src/e2ee/worker/keys.ts';
import { FrameCryptor, type EncodedFrame, type FrameOutput } from '../../client/src/e2ee/worker/pipeline.ts';
import type { DropReason, TransformOptions } from '../../client/src/e2ee/worker/protocol.ts';
import { FrameStats } from '../../client/src/e2ee/worker/stats.ts';
import type { CipherSuiteId } from '../../shared/sframe/index.ts';
import { AUDIO_SUITE } from '../../shared/e2ee/audio-key.ts';
import type { CellStats, KeySetup } from './protocol.ts';
import { Acc, sampleAsync, WARMUP_OPS, warmupMs, warmupOps, type Cell, type Sampled } from './sampling.ts';

export const FRAMES: ReadonlyArray<{ codec: 'opus' | 'vp8'; size: number }> = [
  { codec: 'opus', size: 100 },
  { codec: 'vp8', size: 10_000 },
  { codec: 'vp8', size: 60_000 },
];
const OWNER = 'participant-2';

export function makeFrame(codec: 'opus' | 'vp8', size: number): Uint8Array<ArrayBuffer> {
  const f = new Uint8Array(size);
  crypto.getRandomValues(f.subarray(0, Math.min(size, 65536)));
  // VP8: P bit (lowest bit of byte 0) set = interframe, 3 clear bytes. Opus: 1 clear TOC byte.
  f[0] = codec === 'vp8' ? 0x11 : 0xfc;
  return f;
}

/** A KID shaped like the app's (epoch << 16 | roster index). */
export const kidFor = (suite: CipherSuiteId): bigint => (BigInt(suite + 10) << 16n) | 2n;

/** FrameStats whose drop counters throw: a dropped frame fails the cell instead of vanishing. */
class DropsThrow extends FrameStats {
  override encryptDropped(code: DropReason): void {
    throw new Error(`encrypt stage dropped a frame: ${code}`);
  }
  override decryptDropped(participantId: string, code: DropReason): void {
    throw new Error(`decrypt stage dropped a frame from ${participantId}: ${code}`);
  }
}

export interface Participants {
  /** The sender's encrypt stage. */
  sender: FrameCryptor;
  /** The receiver's decrypt stage for the sender's stream. */
  receiver: FrameCryptor;
}

/** One sender's and one receiver's worker state, the receiver holding the sender's key, as after a key agreement. */
export async function makeParticipants(suite: CipherSuiteId, baseKey: Uint8Array, codec: string): Promise<Participants> {
  const kid = kidFor(suite);
  const senderKeys = new WorkerKeys({ suite });
  const receiverKeys = new WorkerKeys({ suite });
  await senderKeys.setSendKey(kid, baseKey);
  await receiverKeys.addReceiveKey(kid, OWNER, baseKey);
  const kind = codec === 'opus' ? 'audio' : 'video';
  const options = (operation: TransformOptions['operation'], participantId: string): TransformOptions => ({
    operation,
    kind,
    codec,
    // The microphone always sends AUDIO_SUITE (compact KID, 64-bit tag: docs/protocol.md §7.3a); other
    // suites' Opus cells go through the camera's path so each cell measures the suite it is labelled with.
    source: kind === 'audio' && suite === AUDIO_SUITE ? 'mic' : 'camera',
    participantId,
    transformId: `${operation}-${codec}`,
  });
  const deps = (keys: WorkerKeys) => ({ keys, stats: new DropsThrow(), requestKeyFrame: () => {} });
  return {
    sender: new FrameCryptor(options('encrypt', 'self'), deps(senderKeys)),
    receiver: new FrameCryptor(options('decrypt', OWNER), deps(receiverKeys)),
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** encrypt stage then decrypt stage on one frame, back to back; also times each half. */
export function roundTripCell(p: Participants, frame: Uint8Array<ArrayBuffer>, label: string) {
  const total = new Acc();
  const enc = new Acc();
  const dec = new Acc();
  let encAcc = 0;
  let decAcc = 0;
  let first = true;
  const mid = frame.length >> 1;
  let passed: EncodedFrame | undefined;
  const out: FrameOutput = { enqueue: (f) => void (passed = f) };
  const op = async (): Promise<void> => {
    passed = undefined;
    const a = performance.now();
    await p.sender.encryptFrame({ data: frame.buffer, type: 'delta' }, out);
    const b = performance.now();
    const wire = passed as EncodedFrame | undefined;
    if (!wire) throw new Error('encrypt stage passed nothing on');
    passed = undefined;
    await p.receiver.decryptFrame(wire, out);
    const c = performance.now();
    const back = passed as EncodedFrame | undefined;
    if (!back) throw new Error('decrypt stage passed nothing on');
    const got = new Uint8Array(back.data);
    if (got.length !== frame.length || got[mid] !== frame[mid]) throw new Error('round trip mismatch');
    if (first) {
      if (!sameBytes(got, frame)) throw new Error('round trip mismatch');
      first = false;
    }
    encAcc += b - a;
    decAcc += c - b;
  };
  const stats = () => ({ roundTrip: total.stats(frame.length), encrypt: enc.stats(frame.length), decrypt: dec.stats(frame.length) });
  const cell: Cell & { stats: typeof stats } = {
    label,
    async round(budgetMs, maxSamples, firstRound) {
      const encS: number[] = [];
      const decS: number[] = [];
      const s = await sampleAsync(op, budgetMs, maxSamples, firstRound, {
        start: () => {
          encAcc = 0;
          decAcc = 0;
        },
        sample: (batch) => {
          encS.push((encAcc * 1000) / batch);
          decS.push((decAcc * 1000) / batch);
          encAcc = 0;
          decAcc = 0;
        },
      });
      const sum = (xs: number[]): number => xs.reduce((x, y) => x + y, 0) * s.batch;
      return (clean) => {
        total.add(s, clean);
        enc.add({ perOp: encS, totalUs: sum(encS), ops: s.ops, batch: s.batch }, clean);
        dec.add({ perOp: decS, totalUs: sum(decS), ops: s.ops, batch: s.batch }, clean);
      };
    },
    summary() {
      const r = total.stats(frame.length);
      return `${label}: enc+dec p50 ${r.p50.toFixed(1)} µs p99 ${r.p99.toFixed(1)} µs`;
    },
    stats,
  };
  return cell;
}

// ---- pipeline: the sender's transform piped into the receiver's ----

/** The app's two stages as TransformStreams, as the frame worker pipes them. */
export function cryptoStages(p: Participants): TransformStream<EncodedFrame, EncodedFrame>[] {
  return [p.sender.toTransformStream(), p.receiver.toTransformStream()];
}

export function copyStage(): TransformStream<EncodedFrame, EncodedFrame> {
  return new TransformStream<EncodedFrame, EncodedFrame>({
    transform(frame, controller) {
      const data = new Uint8Array(frame.data);
      const out = new Uint8Array(data.length);
      out.set(data);
      frame.data = out.buffer;
      controller.enqueue(frame);
    },
  });
}

/**
 * Per-frame latency from the moment a frame is written into the first stage
 * until the sink receives it, one frame in flight at a time (a transform
 * sees frames tens of ms apart in a call, so frames do not queue). Never
 * batched: latency is per frame by definition. Each round builds fresh streams.
 */
export function pipelineCell(
  makeStages: () => TransformStream<EncodedFrame, EncodedFrame>[],
  frame: Uint8Array<ArrayBuffer>,
  label: string,
) {
  const acc = new Acc();
  const mid = frame.length >> 1;
  const cell: Cell & { stats: () => CellStats } = {
    label,
    async round(budgetMs, maxSamples, first) {
      const source = new TransformStream<EncodedFrame, EncodedFrame>();
      let arrive: ((t: number) => void) | undefined;
      let failed: ((e: unknown) => void) | undefined;
      let pipeError: unknown;
      const sink = new WritableStream<EncodedFrame>({
        write(f) {
          const t = performance.now();
          const got = new Uint8Array(f.data);
          if (got.length !== frame.length || got[mid] !== frame[mid]) throw new Error('pipeline output mismatch');
          const a = arrive;
          arrive = undefined;
          a?.(t);
        },
      });
      let readable = source.readable;
      for (const s of makeStages()) readable = readable.pipeThrough(s);
      const piped = readable.pipeTo(sink).catch((e: unknown) => {
        pipeError = e ?? new Error('pipeline failed');
        failed?.(pipeError);
      });
      const writer = source.writable.getWriter();
      const type = 'delta' as const;
      let lastUs = 0;
      const op = async (): Promise<void> => {
        if (pipeError !== undefined) throw pipeError;
        const arrived = new Promise<number>((res, rej) => {
          arrive = res;
          failed = rej;
        });
        const t0 = performance.now();
        writer.write({ data: frame.buffer, type }).catch(() => {});
        lastUs = ((await arrived) - t0) * 1000;
      };
      const w0 = performance.now();
      for (let i = 0; i < warmupOps(first) || (performance.now() - w0 < warmupMs(first) && i < 20 * WARMUP_OPS); i++) await op();
      const s: Sampled = { perOp: [], totalUs: 0, ops: 0, batch: 1 };
      const end = performance.now() + budgetMs;
      while (s.perOp.length < maxSamples && performance.now() < end) {
        await op();
        s.perOp.push(lastUs);
        s.totalUs += lastUs;
        s.ops++;
      }
      await writer.close();
      await piped;
      if (pipeError !== undefined) throw pipeError;
      return (clean) => acc.add(s, clean);
    },
    summary() {
      const r = acc.stats(frame.length);
      return `${label}: p50 ${r.p50.toFixed(1)} µs p99 ${r.p99.toFixed(1)} µs`;
    },
    stats: () => acc.stats(frame.length),
  };
  return cell;
}

/** setSendKey + addReceiveKey on fresh participants: the per-KID cost that must stay out of the per-frame path. */
export function keySetupCell(suite: CipherSuiteId, repsPerRound: number) {
  const times: number[] = [];
  const cleanTimes: number[] = [];
  const cell: Cell & { stats: () => KeySetup } = {
    label: `key setup suite ${suite}`,
    async round() {
      const mine: number[] = [];
      for (let i = 0; i < repsPerRound; i++) {
        const base = crypto.getRandomValues(new Uint8Array(16));
        const t0 = performance.now();
        await makeParticipants(suite, base, 'vp8');
        mine.push((performance.now() - t0) * 1000);
      }
      return (clean) => {
        times.push(...mine);
        if (clean) cleanTimes.push(...mine);
      };
    },
    summary() {
      const k = cell.stats();
      return `${cell.label}: p50 ${k.p50.toFixed(0)} µs`;
    },
    stats() {
      const sorted = [...(cleanTimes.length > 0 ? cleanTimes : times)].sort((a, b) => a - b);
      const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
      return { suite, p50: at(0.5), p99: at(0.99), clean: cleanTimes.length > 0 };
    },
  };
  return cell;
}
