// Page side of frame encryption: owns the frame worker, attaches a transform
// to every RTCRtpSender/Receiver before media flows, forwards keys, and keeps
// the latest per-sender statistics for the UI.

import type { FrameHooks, ReceiverInfo, SenderInfo } from '../media/sfu-session.ts';
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

export class FrameCrypto implements FrameHooks {
  readonly worker: Worker;
  send: SendFrameStats = { encrypted: 0, dropped: {} };
  readonly receive = new Map<string, ParticipantFrameStats>();
  /** Per received stream, keyed by the producer it carries. */
  readonly streams = new Map<string, StreamFrameStats>();
  private readonly transformOfProducer = new Map<string, string>();
  private seq = 0;
  private readonly statsListeners = new Set<Listener<void>>();
  private readonly workerListeners = new Set<Listener<WorkerToPage>>();

  constructor(readonly path: TransformPath) {
    this.worker = new Worker(new URL('./worker/frame-worker.ts', import.meta.url), { type: 'module', name: 'e2ee-frame-worker' });
    this.worker.onmessage = (ev: MessageEvent<WorkerToPage>) => this.onWorkerMessage(ev.data);
    this.worker.onerror = (ev) => console.error('frame worker error', ev.message);
  }

  private onWorkerMessage(m: WorkerToPage): void {
    switch (m.type) {
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
    this.worker.postMessage(m, transfer);
  }

  peerConnectionSettings(): Partial<RTCConfiguration> {
    // Chromium's encoded-streams path needs this flag on the RTCPeerConnection.
    return this.path === 'encoded-streams' ? ({ encodedInsertableStreams: true } as Partial<RTCConfiguration>) : {};
  }

  private attach(target: RTCRtpSender | RTCRtpReceiver, options: TransformOptions): void {
    if (this.path === 'script-transform') {
      (target as unknown as { transform: unknown }).transform = new RTCRtpScriptTransform!(this.worker, options);
      return;
    }
    const { readable, writable } = (target as unknown as EncodedStreamsCapable).createEncodedStreams();
    this.post({ type: 'attach', options, readable, writable }, [readable as unknown as Transferable, writable as unknown as Transferable]);
  }

  onSender(sender: RTCRtpSender, info: SenderInfo): void {
    this.attach(sender, { operation: 'encrypt', kind: info.kind, codec: info.codec, participantId: 'self', transformId: `s${++this.seq}` });
  }

  onReceiver(receiver: RTCRtpReceiver, info: ReceiverInfo): void {
    const transformId = `r${++this.seq}`;
    this.transformOfProducer.set(info.producerId, transformId);
    this.attach(receiver, { operation: 'decrypt', kind: info.kind, codec: info.codec, participantId: info.participantId, transformId });
  }

  addReceiveKey(kid: bigint, participantId: string, baseKey: Uint8Array): void {
    this.post({ type: 'add-receive-key', kid, participantId, baseKey });
  }

  setSendKey(kid: bigint, baseKey: Uint8Array): void {
    this.post({ type: 'set-send-key', kid, baseKey });
  }

  retireKey(kid: bigint, graceMs: number): void {
    this.post({ type: 'retire-key', kid, graceMs });
  }

  clearSendKey(): void {
    this.post({ type: 'clear-send-key' });
  }

  /** Test builds only (the worker refuses it otherwise): plaintext control runs, wrong-key runs. */
  configureForTest(cfg: { plaintext: boolean; corruptReceiveKeys: boolean }): void {
    this.post({ type: 'test-config', ...cfg });
  }

  close(): void {
    this.worker.terminate();
  }
}
