// The worker's key state: the shared SFrame key stores, with their errors
// mapped to the drop reasons the UI counts, and a check that a frame decrypts
// under a key of the participant and media source whose consumer delivered
// it. A server that re-routes one member's frames into another's tile is
// caught here (WRONG_SENDER), and so is one that relabels a member's camera as
// its screen share, or its microphone as video (WRONG_SOURCE).
//
// Camera and screen share: one sender key per epoch becomes one SFrame key
// per source KID (shared/e2ee/kid.ts), AES-GCM with a 128-bit tag, all
// receive keys in one store keyed by KID, whose owner names the sender.
//
// Microphone: AES-CTR + HMAC with a 64-bit tag under a compact KID (the epoch
// modulo 8) and its own base key (shared/e2ee/audio-key.ts). Compact KIDs
// repeat across senders, so audio receive keys are held per sender
// (SlottedReceiveKeys) and a frame is opened under the key of the sender whose
// stream delivered it. A re-routed microphone therefore fails authentication;
// only then are other senders' audio keys tried (rate-limited, without
// touching their replay windows), so the tile can still say "wrong sender".
//
// Each source sends from its own store, so each has its own counter, and a
// source's frames can only ever go out under that source's KID.

import {
  SFrameKeyStore,
  SlottedReceiveKeys,
  COMPACT_KID_SLOTS,
  parseMediaFrame,
  fail,
  type Bytes,
  type DecryptedFrame,
  type EncryptedFrame,
  type KeyStoreOptions,
  type Result,
  type SFrameErrorCode,
} from '../../../../shared/sframe/index.ts';
import { KID_SOURCES, kidEpoch, kidSource, mediaKid, senderKidOf, type KidSource } from '../../../../shared/e2ee/kid.ts';
import { AUDIO_SUITE, audioKid, deriveAudioBaseKey } from '../../../../shared/e2ee/audio-key.ts';
import type { DropReason } from './protocol.ts';

export type FrameResult = { ok: true; data: Bytes; kid: bigint } | { ok: false; code: DropReason; message: string };

/** What a receiving transform expects its frames to be: whose, and from which source. */
export interface ExpectedSender {
  participantId: string;
  source: KidSource;
  /** The stream's memory of whose audio key its failing frames opened under (microphone streams). */
  reroute?: RerouteMemo;
}

/**
 * Per receiving stream. A failing audio frame is tried under the suspect's
 * key (one tag check); under every other sender's key at most once per
 * AUDIO_SCAN_INTERVAL_MS, so forged frames cannot make the worker try 250 keys each.
 */
export interface RerouteMemo {
  suspect?: string;
  lastScanAt: number;
}

export const AUDIO_SCAN_INTERVAL_MS = 1000;

/** The sources whose frames carry full KIDs and AES-GCM (the microphone has its own format). */
const VIDEO_SOURCES: readonly KidSource[] = ['camera', 'screen'];

function failed(code: DropReason, message: string): FrameResult {
  return { ok: false, code, message };
}

function reason(code: SFrameErrorCode): DropReason {
  switch (code) {
    case 'NO_KEY':
    case 'UNKNOWN_KID':
    case 'AUTH_FAILED':
    case 'REPLAY':
    case 'MALFORMED':
      return code;
    case 'CTR_EXHAUSTED':
      return 'NO_KEY';
    default:
      return 'INTERNAL';
  }
}

function sent(r: Result<EncryptedFrame>): FrameResult {
  return r.ok ? { ok: true, data: r.value.data, kid: r.value.kid } : { ok: false, code: reason(r.error.code), message: r.error.message };
}

/** Whether the frame's SFrame header carries a compact KID (a microphone frame's). */
function hasCompactKid(codec: string, data: Uint8Array): boolean {
  const parts = parseMediaFrame(codec, data);
  return parts.ok && parts.value.header.kid < BigInt(COMPACT_KID_SLOTS);
}

/** The frame opened: it must be from the expected sender (WRONG_SENDER) and source (WRONG_SOURCE). */
function received(r: Result<DecryptedFrame>, expected: ExpectedSender): FrameResult {
  if (!r.ok) return { ok: false, code: reason(r.error.code), message: r.error.message };
  if (r.value.owner !== expected.participantId) {
    return { ok: false, code: 'WRONG_SENDER', message: `frame is from ${String(r.value.owner)}, not ${expected.participantId}` };
  }
  const source = kidSource(r.value.kid);
  if (source !== expected.source) {
    return { ok: false, code: 'WRONG_SOURCE', message: `frame is ${String(source)}, not ${expected.source} (KID ${r.value.kid})` };
  }
  return { ok: true, data: r.value.data, kid: r.value.kid };
}

export class WorkerKeys {
  /** Camera and screen-share receive keys, by full KID. */
  private readonly receive: SFrameKeyStore;
  /** Microphone receive keys, by sender and compact KID. */
  private readonly audio: SlottedReceiveKeys;
  /** Who owns each sender KID we hold receive keys for (to retire their audio key, which is filed by sender). */
  private readonly ownerOf = new Map<bigint, string>();
  private readonly now: () => number;
  private readonly send: Record<KidSource, SFrameKeyStore>;
  /** Sender KIDs this worker ever sent under: never a receive key here (RFC 9605 §4.4.1). */
  private readonly sentKids = new Set<bigint>();
  private sendGeneration = 0;
  private currentSendKid: bigint | undefined;

  /**
   * No onReserve: the counter reservation of SFrameKeyStore guards a worker
   * restart within a key's life, which never happens here. The page starts a
   * fresh worker for every meeting instance it joins (FrameCrypto.reset on a
   * rejoin), and no key outlives its instance: a new worker gets new keys.
   * Within one worker each store's counter already only grows.
   */
  /** `suite` is the camera and screen-share suite (the microphone always uses AUDIO_SUITE). */
  constructor(options: Pick<KeyStoreOptions, 'suite' | 'now' | 'schedule'> = {}) {
    this.receive = new SFrameKeyStore(options);
    const audio = { ...options, suite: AUDIO_SUITE };
    this.audio = new SlottedReceiveKeys(audio);
    this.now = options.now ?? Date.now;
    this.send = { mic: new SFrameKeyStore(audio), camera: new SFrameKeyStore(options), screen: new SFrameKeyStore(options) };
  }

  /** One continuation on the store's promise; the store takes the counter synchronously. */
  encrypt(codec: string, data: Uint8Array, source: KidSource): Promise<FrameResult> {
    if (source !== 'mic') return this.send[source].encrypt(codec, data).then(sent);
    // Reported under the microphone's full KID (epoch, sender, source) for the stats; the wire carries the compact one.
    const kid = this.currentSendKid === undefined ? undefined : mediaKid(this.currentSendKid, 'mic');
    return this.send.mic.encrypt(codec, data).then((r) => (r.ok && kid !== undefined ? { ok: true, data: r.value.data, kid } : sent(r)));
  }

  decrypt(codec: string, data: Uint8Array, expected: ExpectedSender): Promise<FrameResult> {
    if (expected.source === 'mic') return this.decryptAudio(codec, data, expected);
    return this.receive.decrypt(codec, data).then((r) => {
      if (r.ok || r.error.code !== 'UNKNOWN_KID' || !hasCompactKid(codec, data)) return received(r, expected);
      // A compact KID on a video stream names the sender's audio key: opening under it is WRONG_SOURCE (a
      // microphone frame relabelled), failing under it AUTH_FAILED, as for any KID we hold a key for.
      return this.audio.probe(expected.participantId, codec, data).then((own) => {
        if (own.ok) return failed('WRONG_SOURCE', `frame is mic, not ${expected.source}`);
        return own.error.code === 'UNKNOWN_KID' ? received(r, expected) : failed(reason(own.error.code), own.error.message);
      });
    });
  }

  /** Opens a microphone frame under the stream's sender's audio key. */
  private async decryptAudio(codec: string, data: Uint8Array, expected: ExpectedSender): Promise<FrameResult> {
    const { participantId } = expected;
    // A full KID on a microphone stream: a video frame relabelled as audio (WRONG_SOURCE) or another's (WRONG_SENDER).
    if (!hasCompactKid(codec, data)) return received(await this.receive.decrypt(codec, data), expected);
    const r = await this.audio.decrypt(participantId, codec, data);
    if (r.ok) return { ok: true, data: r.value.data, kid: r.value.label ?? r.value.kid };
    const code = r.error.code;
    if (code === 'AUTH_FAILED' || code === 'UNKNOWN_KID') {
      const other = await this.rerouted(codec, data, expected);
      if (other !== undefined) return failed('WRONG_SENDER', `frame opens under ${other}'s audio key, not ${participantId}'s`);
    }
    return failed(reason(code), r.error.message);
  }

  /** The other sender under whose audio key a failed frame opens, if any (see RerouteMemo). */
  private async rerouted(codec: string, data: Uint8Array, expected: ExpectedSender): Promise<string | undefined> {
    const memo = expected.reroute;
    if (!memo) return undefined;
    const self = expected.participantId;
    if (memo.suspect !== undefined && (await this.audio.probe(memo.suspect, codec, data)).ok) return memo.suspect;
    const now = this.now();
    if (now - memo.lastScanAt < AUDIO_SCAN_INTERVAL_MS) return undefined;
    memo.lastScanAt = now;
    const parts = parseMediaFrame(codec, data);
    if (!parts.ok) return undefined;
    for (const owner of this.audio.ownersOf(parts.value.header.kid)) {
      if (owner === self || owner === memo.suspect) continue;
      if ((await this.audio.probe(owner, codec, data)).ok) return (memo.suspect = owner);
    }
    return undefined;
  }

  /** Installs a sender's key: camera and screen share under their KIDs, the microphone's derived key in its slot. */
  async addReceiveKey(senderKid: bigint, participantId: string, baseKey: Uint8Array): Promise<Result<void>> {
    if (this.sentKids.has(senderKidOf(senderKid))) return fail('KID_CONFLICT', `KID ${senderKid} is a send key here`);
    this.ownerOf.set(senderKidOf(senderKid), participantId);
    const results = await Promise.all([
      ...VIDEO_SOURCES.map((source) => this.receive.addReceiveKey(mediaKid(senderKid, source), baseKey, { owner: participantId })),
      this.addAudioReceiveKey(senderKid, participantId, baseKey),
    ]);
    return results.find((r) => !r.ok) ?? { ok: true, value: undefined };
  }

  private async addAudioReceiveKey(senderKid: bigint, participantId: string, baseKey: Uint8Array): Promise<Result<void>> {
    const audioKey = await deriveAudioBaseKey(baseKey, senderKid);
    try {
      return await this.audio.add(participantId, kidEpoch(senderKid), audioKey, mediaKid(senderKid, 'mic'));
    } finally {
      audioKey.fill(0);
    }
  }

  /**
   * Our key under its three source KIDs. Refused (other than SUPERSEDED), no
   * send key is left: every source's previous one is dropped too, so frames
   * give NO_KEY rather than go out under a key that the members we just
   * re-keyed without (a leaver) still hold.
   */
  async setSendKey(senderKid: bigint, baseKey: Uint8Array): Promise<Result<void>> {
    const base = senderKidOf(senderKid);
    if (VIDEO_SOURCES.some((s) => this.receive.hasReceiveKey(mediaKid(base, s)))) {
      this.clearSendKey();
      return fail('KID_CONFLICT', `KID ${senderKid} is a receive key here`);
    }
    const generation = ++this.sendGeneration;
    // Marked before deriving, so a receive key for it that arrives meanwhile is refused.
    this.sentKids.add(base);
    const results = await Promise.all([
      ...VIDEO_SOURCES.map((s) => this.send[s].setSendKey(mediaKid(base, s), baseKey)),
      this.setAudioSendKey(base, baseKey),
    ]);
    const superseded = generation !== this.sendGeneration || results.some((r) => !r.ok && r.error.code === 'SUPERSEDED');
    if (superseded) return fail('SUPERSEDED', `a later send-key change replaced KID ${senderKid} before it was installed`);
    const refused = results.find((r) => !r.ok);
    if (refused) {
      this.clearSendKey();
      return refused;
    }
    this.currentSendKid = base;
    return { ok: true, value: undefined };
  }

  /**
   * The microphone's key under its compact KID. The mic store keeps one
   * counter per compact KID that only grows, so a KID reused eight epochs
   * later continues its counter (under a new key: not needed for nonce
   * uniqueness, and it keeps the store's guarantee simple).
   */
  private async setAudioSendKey(senderKid: bigint, baseKey: Uint8Array): Promise<Result<void>> {
    const audioKey = await deriveAudioBaseKey(baseKey, senderKid);
    try {
      return await this.send.mic.setSendKey(audioKid(senderKid), audioKey);
    } finally {
      audioKey.fill(0);
    }
  }

  /** The sender KID we send under (source bits 0), if any. */
  get sendKid(): bigint | undefined {
    return this.currentSendKid;
  }

  /** Retires a sender's key for all three of its sources (as receive or send key). */
  retire(senderKid: bigint, graceMs: number): void {
    const base = senderKidOf(senderKid);
    if (this.sentKids.has(base)) {
      for (const s of VIDEO_SOURCES) this.send[s].retire(mediaKid(base, s), graceMs);
      // The mic store names keys by compact KID, which a later epoch reuses: retire only the key we send under.
      if (this.currentSendKid === base) this.send.mic.retire(audioKid(base), graceMs);
    } else {
      for (const s of VIDEO_SOURCES) this.receive.retire(mediaKid(base, s), graceMs);
      const owner = this.ownerOf.get(base);
      this.ownerOf.delete(base);
      if (owner !== undefined) this.audio.retire(owner, kidEpoch(base), graceMs);
    }
    if (this.currentSendKid === base) this.currentSendKid = undefined;
  }

  clearSendKey(): void {
    this.sendGeneration++;
    for (const s of KID_SOURCES) this.send[s].clearSendKey();
    this.currentSendKid = undefined;
  }
}
