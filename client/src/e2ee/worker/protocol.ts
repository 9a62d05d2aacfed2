// Messages between the page and the frame worker: one union per direction.
// Page-to-worker messages are checked on arrival in the worker (and before
// posting, on the page), so a malformed one is refused, never half-applied.

import type { CodedError } from '../../../../shared/result.ts';
import type { SFrameErrorCode } from '../../../../shared/sframe/index.ts';
import { KID_SOURCES, type KidSource } from '../../../../shared/e2ee/kid.ts';

export type TransformOperation = 'encrypt' | 'decrypt';

export interface TransformOptions {
  operation: TransformOperation;
  kind: 'audio' | 'video';
  /** Lower-case codec name ('vp8', 'vp9', 'opus', …): decides the clear bytes. */
  codec: string;
  /** Remote sender (decrypt) or 'self' (encrypt). */
  participantId: string;
  /**
   * The media source: encrypt sends under this source's KID; decrypt accepts
   * only frames under it (the source of the consumer the page opened), others are WRONG_SOURCE.
   */
  source: KidSource;
  /** Unique per transform, so the page can address it (e.g. keyframe requests). */
  transformId: string;
}

export type PageToWorker =
  /** createEncodedStreams path: the page transfers the streams. */
  | { type: 'attach'; options: TransformOptions; readable: ReadableStream; writable: WritableStream }
  /** Key for decrypting one sender's frames under one KID. */
  | { type: 'add-receive-key'; kid: bigint; participantId: string; baseKey: Uint8Array }
  /**
   * This sender's key; its counter continues above any counter this worker used
   * for the KID. The worker answers with a `send-key` of the same seq. Refused,
   * it sends nothing (the previous key is dropped too).
   */
  | { type: 'set-send-key'; seq: number; kid: bigint; baseKey: Uint8Array }
  /** Keep a key for decryption for graceMs more, then erase it. */
  | { type: 'retire-key'; kid: bigint; graceMs: number }
  /** Stop sending: frames are dropped until a new send key arrives. */
  | { type: 'clear-send-key' }
  /** Test builds only: the worker refuses it otherwise. */
  | { type: 'test-config'; plaintext: boolean; corruptReceiveKeys: boolean };

/**
 * Why a frame was dropped. WRONG_SENDER: it decrypted under another member's
 * key than the stream's; WRONG_SOURCE: under the right member's key for
 * another media source (a camera frame in a screen-share stream).
 */
export type DropReason = 'NO_KEY' | 'UNKNOWN_KID' | 'AUTH_FAILED' | 'REPLAY' | 'MALFORMED' | 'WRONG_SENDER' | 'WRONG_SOURCE' | 'INTERNAL';

/** Decrypt counters of one sender, or of one received stream. */
export interface ReceiveCounters {
  decrypted: number;
  dropped: Partial<Record<DropReason, number>>;
  lastError?: { code: DropReason; at: number };
  /** Highest epoch-KID these frames were decrypted under. */
  lastKid?: bigint;
  lastDecryptAt?: number;
}

/** Counters of one remote sender, over all of its streams. */
export interface ParticipantFrameStats extends ReceiveCounters {
  participantId: string;
}

/** Counters of one receiving transform (one stream), so a forged stream cannot hide behind a healthy one. */
export interface StreamFrameStats extends ReceiveCounters {
  transformId: string;
}

export interface SendFrameStats {
  encrypted: number;
  dropped: Partial<Record<DropReason, number>>;
  lastError?: { code: DropReason; at: number };
  kid?: bigint;
  lastEncryptAt?: number;
}

export interface StatsSnapshot {
  send: SendFrameStats;
  receive: ParticipantFrameStats[];
  streams: StreamFrameStats[];
}

/** Why the worker reports an error (it keeps running). */
export type WorkerErrorCode =
  /** A transform's streams ended with an error. */
  | 'TRANSFORM_ENDED'
  /** An RTCRtpScriptTransform arrived without valid TransformOptions. */
  | 'BAD_TRANSFORM_OPTIONS'
  /** A page message failed validation. */
  | 'BAD_WORKER_MESSAGE'
  /** Installing a key failed (e.g. KID_CONFLICT); the message says which. */
  | 'KEY_IMPORT'
  /** A test-config message reached a production build. */
  | 'TEST_HOOKS_DISABLED';

/** The worker's answer to one set-send-key: installed (frames go out under `kid`), or refused (nothing goes out). */
export type SendKeyOutcome =
  | { type: 'send-key'; seq: number; kid: bigint; ok: true }
  | { type: 'send-key'; seq: number; kid: bigint; ok: false; error: CodedError<SFrameErrorCode> };

export type WorkerToPage =
  | ({ type: 'stats' } & StatsSnapshot)
  | SendKeyOutcome
  /** A receiver dropped frames and needs a keyframe (encoded-streams path asks via the server). */
  | { type: 'need-keyframe'; participantId: string; transformId: string }
  | ({ type: 'error' } & CodedError<WorkerErrorCode>);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** Validates a message arriving in the worker; undefined if it is malformed. */
export function parsePageMessage(v: unknown): PageToWorker | undefined {
  if (!isObj(v) || typeof v['type'] !== 'string') return undefined;
  switch (v['type']) {
    case 'attach': {
      const options = parseOptions(v['options']);
      const { readable, writable } = v;
      return options && readable instanceof ReadableStream && writable instanceof WritableStream
        ? { type: 'attach', options, readable, writable }
        : undefined;
    }
    case 'add-receive-key': {
      const { kid, participantId, baseKey } = v;
      return typeof kid === 'bigint' && typeof participantId === 'string' && baseKey instanceof Uint8Array
        ? { type: 'add-receive-key', kid, participantId, baseKey }
        : undefined;
    }
    case 'set-send-key': {
      const { seq, kid, baseKey } = v;
      return Number.isSafeInteger(seq) && typeof kid === 'bigint' && baseKey instanceof Uint8Array
        ? { type: 'set-send-key', seq: seq as number, kid, baseKey }
        : undefined;
    }
    case 'retire-key': {
      const { kid, graceMs } = v;
      return typeof kid === 'bigint' && typeof graceMs === 'number' ? { type: 'retire-key', kid, graceMs } : undefined;
    }
    case 'clear-send-key':
      return { type: 'clear-send-key' };
    case 'test-config': {
      const { plaintext, corruptReceiveKeys } = v;
      return typeof plaintext === 'boolean' && typeof corruptReceiveKeys === 'boolean'
        ? { type: 'test-config', plaintext, corruptReceiveKeys }
        : undefined;
    }
    default:
      return undefined;
  }
}

export function parseOptions(v: unknown): TransformOptions | undefined {
  if (!isObj(v)) return undefined;
  const { operation, kind, codec, participantId, transformId, source } = v;
  if (operation !== 'encrypt' && operation !== 'decrypt') return undefined;
  if (kind !== 'audio' && kind !== 'video') return undefined;
  if (!KID_SOURCES.includes(source as KidSource)) return undefined;
  if (typeof codec !== 'string' || typeof participantId !== 'string' || typeof transformId !== 'string') return undefined;
  return { operation, kind, codec, participantId, transformId, source: source as KidSource };
}
