// The worker's key state: the shared SFrame key store, with its errors mapped
// to the drop reasons the UI counts, and a check that a frame decrypts under a
// key of the participant and media source whose consumer delivered it. A
// server that re-routes one member's frames into another's tile is caught
// here (WRONG_SENDER), and so is one that relabels a member's camera as its
// screen share, or its microphone as video (WRONG_SOURCE): the source is in
// the KID (shared/e2ee/kid.ts), and the KID is in the frame's key and AAD.
//
// One sender key per epoch becomes three SFrame keys, one per source KID,
// from the same base key (RFC 9605 derives each KID's key and salt with the
// KID in the label). Receive keys live in one store; each source sends from
// its own store, so each source KID has its own counter, and a source's
// frames can only ever go out under that source's KID.

import {
  SFrameKeyStore,
  fail,
  type Bytes,
  type DecryptedFrame,
  type EncryptedFrame,
  type KeyStoreOptions,
  type Result,
  type SFrameErrorCode,
} from '../../../../shared/sframe/index.ts';
import { KID_SOURCES, kidSource, mediaKid, senderKidOf, type KidSource } from '../../../../shared/e2ee/kid.ts';
import type { DropReason } from './protocol.ts';

export type FrameResult = { ok: true; data: Bytes; kid: bigint } | { ok: false; code: DropReason; message: string };

/** What a receiving transform expects its frames to be: whose, and from which source. */
export interface ExpectedSender {
  participantId: string;
  source: KidSource;
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
  private readonly receive: SFrameKeyStore;
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
  constructor(options: Pick<KeyStoreOptions, 'suite' | 'now' | 'schedule'> = {}) {
    this.receive = new SFrameKeyStore(options);
    this.send = { mic: new SFrameKeyStore(options), camera: new SFrameKeyStore(options), screen: new SFrameKeyStore(options) };
  }

  /** One continuation on the store's promise; the store takes the counter synchronously. */
  encrypt(codec: string, data: Uint8Array, source: KidSource): Promise<FrameResult> {
    return this.send[source].encrypt(codec, data).then(sent);
  }

  decrypt(codec: string, data: Uint8Array, expected: ExpectedSender): Promise<FrameResult> {
    return this.receive.decrypt(codec, data).then((r) => received(r, expected));
  }

  /** Installs a sender's key under its three source KIDs. */
  async addReceiveKey(senderKid: bigint, participantId: string, baseKey: Uint8Array): Promise<Result<void>> {
    if (this.sentKids.has(senderKidOf(senderKid))) return fail('KID_CONFLICT', `KID ${senderKid} is a send key here`);
    const results = await Promise.all(
      KID_SOURCES.map((source) => this.receive.addReceiveKey(mediaKid(senderKid, source), baseKey, { owner: participantId })),
    );
    return results.find((r) => !r.ok) ?? { ok: true, value: undefined };
  }

  /**
   * Our key under its three source KIDs. Refused (other than SUPERSEDED), no
   * send key is left: every source's previous one is dropped too, so frames
   * give NO_KEY rather than go out under a key that the members we just
   * re-keyed without (a leaver) still hold.
   */
  async setSendKey(senderKid: bigint, baseKey: Uint8Array): Promise<Result<void>> {
    const base = senderKidOf(senderKid);
    if (KID_SOURCES.some((s) => this.receive.hasReceiveKey(mediaKid(base, s)))) {
      this.clearSendKey();
      return fail('KID_CONFLICT', `KID ${senderKid} is a receive key here`);
    }
    const generation = ++this.sendGeneration;
    // Marked before deriving, so a receive key for it that arrives meanwhile is refused.
    this.sentKids.add(base);
    const results = await Promise.all(KID_SOURCES.map((s) => this.send[s].setSendKey(mediaKid(base, s), baseKey)));
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

  /** The sender KID we send under (source bits 0), if any. */
  get sendKid(): bigint | undefined {
    return this.currentSendKid;
  }

  /** Retires a sender's key under all three of its source KIDs (as receive or send key). */
  retire(senderKid: bigint, graceMs: number): void {
    const ours = this.sentKids.has(senderKidOf(senderKid));
    for (const s of KID_SOURCES) {
      const kid = mediaKid(senderKid, s);
      if (ours) this.send[s].retire(kid, graceMs);
      else this.receive.retire(kid, graceMs);
    }
    if (this.currentSendKid === senderKidOf(senderKid)) this.currentSendKid = undefined;
  }

  clearSendKey(): void {
    this.sendGeneration++;
    for (const s of KID_SOURCES) this.send[s].clearSendKey();
    this.currentSendKid = undefined;
  }
}
