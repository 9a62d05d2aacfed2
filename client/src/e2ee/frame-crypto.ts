// Page side of frame encryption: owns the frame worker, attaches a transform
// to every RTCRtpSender/Receiver before media flows, forwards keys, and keeps
// the latest per-sender statistics for the UI.
//
// One worker per meeting instance: reset() (on a rejoin) ends the old worker
// with every key it held, and the new transports' senders and receivers attach
// to the new one. KIDs (epoch << 16 | index << 2 | source) restart with each instance, so
// keys of two instances must never meet in one worker.

import type { FrameHooks, ReceiverInfo, SenderInfo } from '../media/sfu-session.ts';
import type { CodedError } from '../../../shared/result.ts';
import type { SFrameErrorCode } from '../../../shared/sframe/index.ts';
import {
  parsePageMessage,
  type PageToWorker,
  type ParticipantFrameStats,
  type SendFrameStats,
  type StreamFrameStats,
  type TransformOptions,
  type WorkerToPage,
} from './worker/protocol.ts';

export type TransformPath = 'script-transform' | 'encoded-streams';

interface EncodedStreamsCapable {
  createEncodedStreams(): { readable: ReadableStream; writable: WritableStream };
}
declare const RTCRtpScriptTransform: { new (worker: Worker, options?: unknown, transfer?: Transferable[]): unknown } | undefined;

/** Feature detection, not user agent: prefer the standard RTCRtpScriptTransform. */
export function detectTransformPath(forced?: string | null): TransformPath | undefined {
  const hasScript = typeof RTCRtpScriptTransform !== 'undefined';
  const hasStreams = typeof RTCRtpSender !== 'undefined' && 'createEncodedStreams' in RTCRtpSender.prototype;
  if (forced === 'encoded-streams' && hasStreams) return 'encoded-streams';
  if (forced === 'script-transform' && hasScript) return 'script-transform';
  if (hasScript) return 'script-transform';
  if (hasStreams) return 'encoded-streams';
  return undefined;
}

type Listener<T> = (v: T) => void;

/** The worker's answer to a send key: in use, refused (nothing is sent), or SUPERSEDED by a later key change or a reset. */
export type SendKeyResult = { ok: true } | { ok: false; error: CodedError<SFrameErrorCode> };

interface TestConfig {
  plaintext: boolean;
  corruptReceiveKeys: boolean;
}

export class FrameCrypto implements FrameHooks {
  private current: Worker;
  send: SendFrameStats = { encrypted: 0, dropped: {} };
  readonly receive = new Map<string, ParticipantFrameStats>();
  /** Per received stream, keyed by the producer it carries. */
  readonly streams = new Map<string, StreamFrameStats>();
  private readonly transformOfProducer = new Map<string, string>();
  private seq = 0;
  private sendKeySeq = 0;
  /** set-send-key requests the worker has not answered yet, by seq. */
  private readonly pendingSendKeys = new Map<number, (r: SendKeyResult) => void>();
  private testConfig?: TestConfig;
  private readonly statsListeners = new Set<Listener<void>>();
  private readonly workerListeners = new Set<Listener<WorkerToPage>>();

  constructor(readonly path: TransformPath) {
    this.current = this.startWorker();
  }

  /** The worker the transforms of the current meeting instance run in. */
  get worker(): Worker {
    return this.current;
  }

  private startWorker(): Worker {
    const worker = new Worker(new URL('./worker/frame-worker.ts', import.meta.url), { type: 'module', name: 'e2ee-frame-worker' });
    // A message an ended worker posted before it ended is about keys that are gone.
    worker.onmessage = (ev: MessageEvent<WorkerToPage>) => {
      if (worker === this.current) this.onWorkerMessage(ev.data);
    };
    worker.onerror = (ev) => console.error('frame worker error', ev.message);
    return worker;
  }

  /**
   * A fresh worker for a new meeting instance (a rejoin): the old one ends with
   * every key it held, its pending send keys resolve as SUPERSEDED, its
   * counters are forgotten. Call before the new instance's transports exist, so
   * their transforms attach to the new worker.
   */
  reset(): void {
    this.current.terminate();
    this.current = this.startWorker();
    this.settlePendingSendKeys({ ok: false, error: { code: 'SUPERSEDED', message: 'the frame worker was replaced (rejoin)' } });
    this.send = { encrypted: 0, dropped: {} };
    this.receive.clear();
    this.streams.clear();
    this.transformOfProducer.clear();
    if (this.testConfig) this.post({ type: 'test-config', ...this.testConfig });
    for (const l of this.statsListeners) l();
  }

  private settlePendingSendKeys(r: SendKeyResult): void {
    const pending = [...this.pendingSendKeys.values()];
    this.pendingSendKeys.clear();
    for (const resolve of pending) resolve(r);
  }

  private onWorkerMessage(m: WorkerToPage): void {
    switch (m.type) {
      case 'send-key': {
        const resolve = this.pendingSendKeys.get(m.seq);
        this.pendingSendKeys.delete(m.seq);
        resolve?.(m.ok ? { ok: true } : { ok: false, error: m.error });
        break;
      }
      case 'stats':
        this.send = m.send;
        for (const r of m.receive) this.receive.set(r.participantId, r);
        for (const [producerId, transformId] of this.transformOfProducer) {
          const st = m.streams.find((x) => x.transformId === transformId);
          if (st) this.streams.set(producerId, st);
        }
        for (const l of this.statsListeners) l();
        break;
      case 'error':
        console.warn(`frame worker: ${m.code}: ${m.message}`);
        break;
      default:
        break;
    }
    for (const l of this.workerListeners) l(m);
  }

  onStats(l: Listener<void>): void {
    this.statsListeners.add(l);
  }
  onWorkerEvent(l: Listener<WorkerToPage>): void {
    this.workerListeners.add(l);
  }

  post(m: PageToWorker, transfer: Transferable[] = []): void {
    // Same validation the worker applies, so a bug shows up on the page side too.
    if (!parsePageMessage(m)) throw new Error(`invalid frame worker message ${m.type}`);
    this.current.postMessage(m, transfer);
  }

  peerConnectionSettings(): Partial<RTCConfiguration> {
    // Chromium's encoded-streams path needs this flag on the RTCPeerConnection.
    return this.path === 'encoded-streams' ? ({ encodedInsertableStreams: true } as Partial<RTCConfiguration>) : {};
  }

  private attach(target: RTCRtpSender | RTCRtpReceiver, options: TransformOptions): void {
    if (this.path === 'script-transform') {
      (target as unknown as { transform: unknown }).transform = new RTCRtpScriptTransform!(this.current, options);
      return;
    }
    const { readable, writable } = (target as unknown as EncodedStreamsCapable).createEncodedStreams();
    this.post({ type: 'attach', options, readable, writable }, [readable as unknown as Transferable, writable as unknown as Transferable]);
  }

  onSender(sender: RTCRtpSender, info: SenderInfo): void {
    this.attach(sender, {
      operation: 'encrypt',
      kind: info.kind,
      codec: info.codec,
      source: info.source,
      participantId: 'self',
      transformId: `s${++this.seq}`,
    });
  }

  onReceiver(receiver: RTCRtpReceiver, info: ReceiverInfo): void {
    const transformId = `r${++this.seq}`;
    this.transformOfProducer.set(info.producerId, transformId);
    // The sender and source this page shows the stream as (the consumer it opened): frames under any other KID are dropped.
    this.attach(receiver, {
      operation: 'decrypt',
      kind: info.kind,
      codec: info.codec,
      source: info.source,
      participantId: info.participantId,
      transformId,
    });
  }

  addReceiveKey(kid: bigint, participantId: string, baseKey: Uint8Array): void {
    this.post({ type: 'add-receive-key', kid, participantId, baseKey });
  }

  /**
   * Resolves once the worker sends under `kid` ({ok: true}), or refused it: it
   * then sends nothing, not even under the previous key.
   */
  setSendKey(kid: bigint, baseKey: Uint8Array): Promise<SendKeyResult> {
    const seq = ++this.sendKeySeq;
    return new Promise((resolve) => {
      this.pendingSendKeys.set(seq, resolve);
      this.post({ type: 'set-send-key', seq, kid, baseKey });
    });
  }

  retireKey(kid: bigint, graceMs: number): void {
    this.post({ type: 'retire-key', kid, graceMs });
  }

  clearSendKey(): void {
    this.post({ type: 'clear-send-key' });
  }

  /** Test builds only (the worker refuses it otherwise): plaintext control runs, wrong-key runs. */
  configureForTest(cfg: TestConfig): void {
    this.testConfig = cfg;
    this.post({ type: 'test-config', ...cfg });
  }

  close(): void {
    this.current.terminate();
    this.settlePendingSendKeys({ ok: false, error: { code: 'SUPERSEDED', message: 'the frame worker was closed' } });
  }
}
