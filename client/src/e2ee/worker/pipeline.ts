// The per-frame work of one transform, in the shape of LiveKit's FrameCryptor:
// the encrypt stage (sender) and the decrypt stage (receiver). This is the
// code that ships in the frame worker, and the same code the unit tests, the
// frame fuzzer and the browser bench run: it needs no real worker, streams or
// RTCRtp objects, only keys, counters and somewhere to put the output.
//
//   encrypt: SFrame-encrypt, or drop and count (never pass a frame in clear).
//   decrypt: decrypt and check the sender and source, or drop and count by reason; after
//            drops, ask for a keyframe so the video decoder can recover.

import type { FrameResult, RerouteMemo, WorkerKeys } from './keys.ts';
import type { TransformOptions } from './protocol.ts';
import type { FrameStats } from './stats.ts';

/** What the transforms see of RTCEncodedVideoFrame / RTCEncodedAudioFrame. */
export interface EncodedFrame {
  data: ArrayBuffer;
  type?: 'key' | 'delta' | 'empty';
}

/** Where a stage puts the frames it passes on: a TransformStream's controller, or a test's list. */
export interface FrameOutput {
  enqueue(frame: EncodedFrame): void;
}

export interface CryptorDeps {
  keys: WorkerKeys;
  stats: FrameStats;
  /** Asks the sender for a keyframe (rate-limited here to one per KEYFRAME_REQUEST_INTERVAL_MS). */
  requestKeyFrame: () => void;
  /** Milliseconds clock, injectable for tests (default Date.now). */
  now?: () => number;
}

/** A receiver asks at most this often: the sender answers each request with a costly keyframe. */
export const KEYFRAME_REQUEST_INTERVAL_MS = 1000;

export class FrameCryptor {
  private readonly now: () => number;
  /** Frames dropped since the decoder last got something it can start from (a keyframe, or any audio frame). */
  private dropsSinceGood = 0;
  private lastKeyFrameAsk = -Infinity;
  /** Whose audio key this stream's failing frames opened under (WorkerKeys tells WRONG_SENDER from AUTH_FAILED with it). */
  private readonly reroute: RerouteMemo = { lastScanAt: -Infinity };

  constructor(
    readonly options: Readonly<TransformOptions>,
    private readonly deps: CryptorDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** The stage for options.operation, taking and giving EncodedFrames (what a TransformStream calls). */
  transform(frame: EncodedFrame, out: FrameOutput): Promise<FrameResult> {
    return this.options.operation === 'encrypt' ? this.encryptFrame(frame, out) : this.decryptFrame(frame, out);
  }

  /** This cryptor as a TransformStream, for the worker's pipes. */
  toTransformStream(): TransformStream<EncodedFrame, EncodedFrame> {
    return new TransformStream<EncodedFrame, EncodedFrame>({ transform: asStreamStep((frame, out) => this.transform(frame, out)) });
  }

  /** Encrypt stage: the frame's data becomes the SFrame frame and is passed on, or the frame is dropped. */
  async encryptFrame(frame: EncodedFrame, out: FrameOutput): Promise<FrameResult> {
    const r = await this.encrypt(new Uint8Array(frame.data));
    if (r.ok) {
      frame.data = r.data.buffer;
      out.enqueue(frame);
    }
    return r;
  }

  /** Decrypt stage: the frame's data becomes the original frame and is passed on, or the frame is dropped. */
  async decryptFrame(frame: EncodedFrame, out: FrameOutput): Promise<FrameResult> {
    const r = await this.decrypt(new Uint8Array(frame.data), frame.type);
    if (r.ok) {
      frame.data = r.data.buffer;
      out.enqueue(frame);
    }
    return r;
  }

  /** Encrypts one frame's bytes and counts the outcome. A failure means: drop it. */
  encrypt(data: Uint8Array): Promise<FrameResult> {
    const { keys, stats } = this.deps;
    return keys.encrypt(this.options.codec, data, this.options.source).then((r) => {
      if (r.ok) stats.encrypted(r.kid);
      else stats.encryptDropped(r.code);
      return r;
    });
  }

  /** Decrypts one frame's bytes (checking they came from options.participantId's options.source) and counts the outcome. */
  decrypt(data: Uint8Array, frameType?: EncodedFrame['type']): Promise<FrameResult> {
    const { keys, stats } = this.deps;
    const { codec, participantId, transformId, source } = this.options;
    return keys.decrypt(codec, data, { participantId, source, reroute: this.reroute }).then((r) => {
      if (!r.ok) {
        stats.decryptDropped(participantId, r.code, transformId);
        this.dropsSinceGood++;
        return r;
      }
      stats.decrypted(participantId, r.kid, transformId);
      this.recoverAfterDrops(frameType);
      return r;
    });
  }

  /** After drops the video decoder needs a keyframe to recover; a keyframe or any audio frame ends the episode. */
  private recoverAfterDrops(frameType: EncodedFrame['type']): void {
    const video = this.options.kind === 'video';
    if (this.dropsSinceGood > 0 && video && frameType !== 'key') this.askKeyFrame();
    if (frameType === 'key' || !video) this.dropsSinceGood = 0;
  }

  private askKeyFrame(): void {
    const now = this.now();
    if (now - this.lastKeyFrameAsk < KEYFRAME_REQUEST_INTERVAL_MS) return;
    this.lastKeyFrameAsk = now;
    this.deps.requestKeyFrame();
  }
}

/**
 * A stage as a TransformStream step. The stream ignores what the step's promise
 * resolves to, so the FrameResult (for tests and benches) needs no extra
 * continuation per frame; only the static type is narrowed.
 */
export function asStreamStep(
  step: (frame: EncodedFrame, out: FrameOutput) => Promise<unknown> | void,
): TransformerTransformCallback<EncodedFrame, EncodedFrame> {
  return step as TransformerTransformCallback<EncodedFrame, EncodedFrame>;
}
