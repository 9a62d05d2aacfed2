// Messages between the page and the frame worker: one union per direction,
// checked on arrival in the worker.

export type TransformOperation = 'encrypt' | 'decrypt';

export interface TransformOptions {
  operation: TransformOperation;
  kind: 'audio' | 'video';
  /** Lower-case codec name ('vp8', 'vp9', 'opus', …): decides the clear bytes. */
  codec: string;
  /** Remote sender (decrypt) or 'self' (encrypt). */
  participantId: string;
  /** Unique per transform, so the page can address it (e.g. keyframe requests). */
  transformId: string;
}

export type PageToWorker =
  /** createEncodedStreams path: the page transfers the streams. */
  | { type: 'attach'; options: TransformOptions; readable: ReadableStream; writable: WritableStream }
  | { type: 'detach'; transformId: string }
  /** Key for decrypting one sender's frames under one KID. */
  | { type: 'add-receive-key'; kid: bigint; participantId: string; baseKey: Uint8Array }
  /** This sender's key; ctrFloor resumes the counter after a worker restart. */
  | { type: 'set-send-key'; kid: bigint; baseKey: Uint8Array; ctrFloor: bigint }
  /** Keep a key for decryption for graceMs more, then erase it. */
  | { type: 'retire-key'; kid: bigint; graceMs: number }
  /** Stop sending: frames are dropped until a new send key arrives. */
  | { type: 'clear-send-key' }
  /** Test builds only: the worker refuses it otherwise. */
  | { type: 'test-config'; plaintext: boolean; corruptReceiveKeys: boolean };

export type DropReason = 'NO_KEY' | 'UNKNOWN_KID' | 'AUTH_FAILED' | 'REPLAY' | 'MALFORMED' | 'WRONG_SENDER' | 'INTERNAL';

export interface ParticipantFrameStats {
  participantId: string;
  decrypted: number;
  dropped: Partial<Record<DropReason, number>>;
  lastError?: { code: DropReason; at: number };
  /** Highest epoch-KID this sender's frames were decrypted under. */
  lastKid?: bigint;
  lastDecryptAt?: number;
}

export interface SendFrameStats {
  encrypted: number;
  dropped: Partial<Record<DropReason, number>>;
  kid?: bigint;
  lastEncryptAt?: number;
}

export type WorkerToPage =
  | { type: 'ready'; scriptTransform: boolean }
  /** receive: per sender; streams: per receiving transform (participantId holds the transform id). */
  | { type: 'stats'; send: SendFrameStats; receive: ParticipantFrameStats[]; streams: ParticipantFrameStats[] }
  /** Persist this before counters up to `upTo` are used (restart safety). */
  | { type: 'ctr-reserved'; kid: bigint; upTo: bigint }
  /** A receiver saw frames under a new KID (e.g. the sender switched epochs). */
  | { type: 'kid-switched'; participantId: string; kid: bigint }
  /** A receiver dropped frames and needs a keyframe (encoded-streams path asks via the server). */
  | { type: 'need-keyframe'; participantId: string; transformId: string }
  | { type: 'error'; code: string; message: string };

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** Validates a message arriving in the worker; undefined if it is malformed. */
export function parsePageMessage(v: unknown): PageToWorker | undefined {
  if (!isObj(v) || typeof v['type'] !== 'string') return undefined;
  switch (v['type']) {
    case 'attach':
      return v['readable'] instanceof ReadableStream && v['writable'] instanceof WritableStream && parseOptions(v['options'])
        ? (v as unknown as PageToWorker)
        : undefined;
    case 'detach':
      return typeof v['transformId'] === 'string' ? (v as unknown as PageToWorker) : undefined;
    case 'add-receive-key':
      return typeof v['kid'] === 'bigint' && typeof v['participantId'] === 'string' && v['baseKey'] instanceof Uint8Array
        ? (v as unknown as PageToWorker)
        : undefined;
    case 'set-send-key':
      return typeof v['kid'] === 'bigint' && typeof v['ctrFloor'] === 'bigint' && v['baseKey'] instanceof Uint8Array
        ? (v as unknown as PageToWorker)
        : undefined;
    case 'retire-key':
      return typeof v['kid'] === 'bigint' && typeof v['graceMs'] === 'number' ? (v as unknown as PageToWorker) : undefined;
    case 'clear-send-key':
      return { type: 'clear-send-key' };
    case 'test-config':
      return typeof v['plaintext'] === 'boolean' && typeof v['corruptReceiveKeys'] === 'boolean' ? (v as unknown as PageToWorker) : undefined;
    default:
      return undefined;
  }
}

export function parseOptions(v: unknown): TransformOptions | undefined {
  if (!isObj(v)) return undefined;
  const { operation, kind, codec, participantId, transformId } = v;
  if (operation !== 'encrypt' && operation !== 'decrypt') return undefined;
  if (kind !== 'audio' && kind !== 'video') return undefined;
  if (typeof codec !== 'string' || typeof participantId !== 'string' || typeof transformId !== 'string') return undefined;
  return { operation, kind, codec, participantId, transformId };
}
