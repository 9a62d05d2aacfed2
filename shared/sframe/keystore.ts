// Per-worker key state: receive keys by KID (each with its replay window) and
// this sender's one send key with a counter shared by all of its tracks.
//
// Counter safety: (KID, CTR) must never repeat. Within one store the counter
// only grows, even across clearSendKey/setSendKey of the same KID. For a
// caller whose store can restart within a key's life, the store offers a
// high-water mark: it calls onReserve(kid, upTo) before any counter >= the
// last announced mark is used, half a block ahead of need, and never uses a
// counter >= the latest upTo it announced; after a restart the caller passes
// that upTo back as ctrFloor. (The app's frame worker never restarts, so it
// does not use this: see client/src/e2ee/worker/keys.ts.)
//
// RFC 9605 §4.4.1: a base key is for encryption or decryption, never both, so
// a KID cannot be a send key and a receive key in the same store.

import { constantTimeEqual, isU64, MAX_U64, type Bytes } from './bytes.ts';
import type { MediaCodec } from './clear-bytes.ts';
import { createKeyContext, type KeyContext } from './derive.ts';
import { fail, ok, type Result } from './errors.ts';
import { MAX_EXACT } from './header.ts';
import { openFrame, readMediaFrame, sealMediaFrame, type FrameDone, type MediaFrameSlot } from './media-frame.ts';
import { ReplayWindow } from './replay.ts';
import { DEFAULT_SUITE, getSuite, type CipherSuiteId } from './suites.ts';

export const DEFAULT_RESERVE_BLOCK = 4096;

export interface KeyStoreOptions {
  /** Cipher suite for keys added without one (default 4, AES_128_GCM_SHA256_128). */
  suite?: CipherSuiteId;
  /** Counters reserved per onReserve call (default 4096). */
  reserveBlock?: number;
  /** Persist `upTo`; after a restart pass it back as setSendKey's ctrFloor. Throwing drops the frame. */
  onReserve?: (kid: bigint, upTo: bigint) => void;
  /** Milliseconds clock, injectable for tests (default Date.now). */
  now?: () => number;
  /** Runs a sweep later so retired keys are erased even when no frames arrive (default setTimeout). */
  schedule?: (fn: () => void, ms: number) => void;
}

export interface ReceiveKeyOptions {
  /** Whose key this is (e.g. a participant id); returned with every frame it opens. */
  owner?: string;
  suite?: CipherSuiteId;
}

export interface EncryptedFrame {
  readonly data: Bytes;
  readonly kid: bigint;
  readonly ctr: bigint;
}

export interface DecryptedFrame {
  readonly data: Bytes;
  readonly kid: bigint;
  readonly ctr: bigint;
  readonly owner: string | undefined;
}

interface ReceiveEntry {
  readonly ctx: KeyContext;
  readonly replay: ReplayWindow;
  readonly owner: string | undefined;
  expiresAt: number | undefined;
  /** Commits the CTR and builds the frame's result once its tag verified; made once per key. */
  readonly done: FrameDone<DecryptedFrame>;
}

// The send counter is a Number while it is at most 2^53 - 1 (exact), so a
// frame takes it with one comparison and one addition; from 2^53 on it is a
// bigint (`nextBig`, with `nextN` = Infinity so the fast test fails).
// `fastUntil` caches, as a Number, the first counter that needs the slow
// path's checks: min(reservedUpTo - halfBlock, 2^53 - 1) (or the end of the
// block once reservedUpTo reached 2^64, where no reservation is left to make).

interface SendState {
  readonly ctx: KeyContext;
  /** The next counter while it is <= MAX_EXACT, else Infinity. */
  nextN: number;
  /** The next counter once it is above MAX_EXACT. */
  nextBig: bigint;
  /** Counters below this (a Number) need no reservation or range check. */
  fastUntil: number;
  /** Exclusive bound announced through onReserve. */
  reservedUpTo: bigint;
  /** Builds an encrypted frame's result; made once per key. */
  readonly done: FrameDone<EncryptedFrame>;
}

const MAX_EXACT_BIG = BigInt(MAX_EXACT);

function nextOf(s: SendState): bigint {
  return s.nextN <= MAX_EXACT ? BigInt(s.nextN) : s.nextBig;
}

function setNext(s: SendState, next: bigint): void {
  if (next <= MAX_EXACT_BIG) s.nextN = Number(next);
  else {
    s.nextN = Infinity;
    s.nextBig = next;
  }
}

const LIMIT = MAX_U64 + 1n;

export class SFrameKeyStore {
  private readonly receive = new Map<bigint, ReceiveEntry>();
  /** Retirements requested for KIDs whose key is not (yet) installed. */
  private readonly earlyRetire = new Map<bigint, number>();
  private retiring = 0;
  private send: SendState | undefined;
  /** Bumped by every send-key change, so a slow setSendKey cannot install a stale key. */
  private sendGeneration = 0;
  /** Next unused counter of every KID this store has sent with. */
  private readonly sentUpTo = new Map<bigint, bigint>();
  private readonly suite: CipherSuiteId;
  private readonly block: bigint;
  private readonly halfBlock: bigint;
  private readonly now: () => number;
  private readonly schedule: (fn: () => void, ms: number) => void;
  private readonly onReserve: ((kid: bigint, upTo: bigint) => void) | undefined;
  /** decrypt's parse result, read before anything is awaited: one object for every frame. */
  private readonly parsed: MediaFrameSlot = { clear: 0, kid: 0n, ctr: 0n, length: 0 };

  constructor(options: KeyStoreOptions = {}) {
    this.suite = options.suite ?? DEFAULT_SUITE;
    const block = options.reserveBlock ?? DEFAULT_RESERVE_BLOCK;
    this.block = BigInt(Number.isInteger(block) && block >= 2 ? block : DEFAULT_RESERVE_BLOCK);
    this.halfBlock = this.block / 2n;
    this.now = options.now ?? (() => Date.now());
    this.schedule = options.schedule ?? ((fn, ms) => void setTimeout(fn, ms));
    this.onReserve = options.onReserve;
  }

  // ---- receive keys ----

  /**
   * Derives and installs a decryption key. Re-adding the same key for the same
   * owner is a no-op (the replay window is kept); a different key or owner for
   * a held KID is KID_CONFLICT.
   */
  async addReceiveKey(kid: bigint, baseKey: Uint8Array, options: ReceiveKeyOptions = {}): Promise<Result<void>> {
    const suite = getSuite(options.suite ?? this.suite);
    if (!suite.ok) return suite;
    if (this.send?.ctx.kid === kid || this.sentUpTo.has(kid)) return fail('KID_CONFLICT', `KID ${kid} is a send key here`);
    const ctx = await createKeyContext(suite.value, kid, baseKey);
    if (!ctx.ok) return ctx;
    this.sweep();
    const held = this.receive.get(kid);
    if (held) {
      // Same base key ⇒ same salt; comparing salts avoids keeping raw key bytes around.
      const same = held.ctx.suite.id === ctx.value.suite.id && constantTimeEqual(held.ctx.salt, ctx.value.salt);
      ctx.value.salt.fill(0);
      if (!same) return fail('KID_CONFLICT', `KID ${kid} already holds a different key`);
      if (held.owner !== options.owner) return fail('KID_CONFLICT', `KID ${kid} already belongs to ${String(held.owner)}`);
      return ok(undefined);
    }
    if (this.send?.ctx.kid === kid || this.sentUpTo.has(kid)) return fail('KID_CONFLICT', `KID ${kid} is a send key here`);
    const replay = new ReplayWindow();
    const owner = options.owner;
    const entry: ReceiveEntry = {
      ctx: ctx.value,
      replay,
      owner,
      expiresAt: undefined,
      // Committed only now (a forged frame must not move the window), re-checked for a concurrent open of the same CTR.
      done: (data, ctr) => (replay.commit(ctr) ? ok({ data, kid, ctr, owner }) : replayed(kid, ctr)),
    };
    this.receive.set(kid, entry);
    const early = this.earlyRetire.get(kid);
    if (early !== undefined) {
      this.earlyRetire.delete(kid);
      entry.expiresAt = early;
      this.retiring++;
      this.sweep();
    }
    return ok(undefined);
  }

  hasReceiveKey(kid: bigint): boolean {
    this.sweep();
    return this.receive.has(kid);
  }

  receiveKids(): bigint[] {
    this.sweep();
    return [...this.receive.keys()];
  }

  /**
   * Keeps `kid` usable for decryption for `afterMs` more, then erases it.
   * If it is the send key, sending stops at once (frames give NO_KEY).
   */
  retire(kid: bigint, afterMs: number): void {
    const at = this.now() + Math.max(0, Number.isFinite(afterMs) ? afterMs : 0);
    if (this.send?.ctx.kid === kid) this.dropSendKey();
    const entry = this.receive.get(kid);
    if (!entry) {
      this.earlyRetire.set(kid, Math.min(at, this.earlyRetire.get(kid) ?? Infinity));
    } else if (entry.expiresAt === undefined) {
      entry.expiresAt = at;
      this.retiring++;
    } else {
      entry.expiresAt = Math.min(entry.expiresAt, at);
    }
    this.sweep();
    if (at > this.now()) this.schedule(() => this.sweep(), at - this.now());
  }

  /** Erases every retired key whose grace period is over. Cheap when nothing is retiring. */
  sweep(): void {
    if (this.retiring === 0 && this.earlyRetire.size === 0) return;
    const now = this.now();
    for (const [kid, entry] of this.receive) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
        entry.ctx.salt.fill(0);
        this.receive.delete(kid);
        this.retiring--;
      }
    }
    for (const [kid, at] of this.earlyRetire) if (at <= now) this.earlyRetire.delete(kid);
  }

  /**
   * Opens [clear][header][ciphertext][tag]: MALFORMED, UNKNOWN_KID, REPLAY or AUTH_FAILED on failure.
   * Not async: the checks before WebCrypto run synchronously, then the codec's one open.
   */
  decrypt(codec: MediaCodec, frame: Uint8Array): Promise<Result<DecryptedFrame>> {
    const p = this.parsed;
    const malformed = readMediaFrame(codec, frame, p);
    if (malformed) return Promise.resolve(malformed);
    const kid = p.kid;
    const ctr = p.ctr;
    if (this.retiring > 0) this.sweep();
    const entry = this.receive.get(kid);
    if (!entry) return Promise.resolve(fail('UNKNOWN_KID', `no key for KID ${kid}`));
    if (!entry.replay.check(ctr)) return Promise.resolve(replayed(kid, ctr));
    return openFrame(entry.ctx, frame, p.clear, p.length, ctr, entry.done);
  }

  // ---- send key ----

  /**
   * Installs this sender's key. Counters start at max(ctrFloor, anything this
   * store already used for `kid`), and onReserve is told the first block.
   *
   * Fails closed: if the latest send-key change is refused (KID_CONFLICT, a
   * bad key, …), the previous send key is dropped too and frames give NO_KEY.
   * The caller moved on to the new key (e.g. a member left), so sending on
   * under the old one would leak media to whoever still holds it. SUPERSEDED
   * leaves the key alone: a later change decides.
   */
  async setSendKey(kid: bigint, baseKey: Uint8Array, ctrFloor = 0n, options: { suite?: CipherSuiteId } = {}): Promise<Result<void>> {
    const generation = ++this.sendGeneration;
    const r = await this.installSendKey(generation, kid, baseKey, ctrFloor, options.suite);
    if (!r.ok && r.error.code !== 'SUPERSEDED' && generation === this.sendGeneration) this.dropSendKey();
    return r;
  }

  private async installSendKey(
    generation: number,
    kid: bigint,
    baseKey: Uint8Array,
    ctrFloor: bigint,
    suiteId: CipherSuiteId | undefined,
  ): Promise<Result<void>> {
    if (!isU64(ctrFloor)) return fail('INVALID_ARGUMENT', `ctrFloor must be in 0..2^64-1, got ${ctrFloor}`);
    const suite = getSuite(suiteId ?? this.suite);
    if (!suite.ok) return suite;
    const ctx = await createKeyContext(suite.value, kid, baseKey);
    if (!ctx.ok) return ctx;
    if (generation !== this.sendGeneration) {
      ctx.value.salt.fill(0);
      return fail('SUPERSEDED', `a later send-key change replaced KID ${kid} before it was installed`);
    }
    if (this.receive.has(kid)) {
      ctx.value.salt.fill(0);
      return fail('KID_CONFLICT', `KID ${kid} is a receive key here`);
    }
    let start = ctrFloor;
    const used = this.send?.ctx.kid === kid ? nextOf(this.send) : this.sentUpTo.get(kid);
    if (used !== undefined && used > start) start = used;
    this.dropSendKey();
    this.sendGeneration = generation; // dropSendKey bumped it; this install is still the latest
    const state: SendState = {
      ctx: ctx.value,
      nextN: Infinity,
      nextBig: 0n,
      fastUntil: -1,
      reservedUpTo: start,
      done: (data, ctr) => ok({ data, kid, ctr }),
    };
    setNext(state, start);
    this.send = state;
    this.sentUpTo.set(kid, start);
    const reserved = this.reserveNext(state);
    return reserved.ok ? ok(undefined) : reserved;
  }

  /** Stops sending: later frames give NO_KEY until a new send key is set. */
  clearSendKey(): void {
    this.dropSendKey();
  }

  get sendKid(): bigint | undefined {
    return this.send?.ctx.kid;
  }

  /** The counter the next encrypted frame will use. */
  get nextCtr(): bigint | undefined {
    return this.send ? nextOf(this.send) : undefined;
  }

  /**
   * Encrypts one frame as [clear][header][ciphertext][tag]; NO_KEY if there is no send key.
   * The counter is taken synchronously, before anything is awaited.
   */
  encrypt(codec: MediaCodec, frame: Uint8Array): Promise<Result<EncryptedFrame>> {
    const s = this.send;
    if (s !== undefined && s.nextN < s.fastUntil) {
      // Below the reservation's refill point and below 2^53: taken without BigInt (see SendState).
      const n = s.nextN;
      s.nextN = n + 1;
      return sealMediaFrame(s.ctx, BigInt(n), n, codec, frame, s.done);
    }
    const ctr = this.takeCounter();
    if (typeof ctr !== 'bigint') return Promise.resolve(ctr);
    return sealMediaFrame(s!.ctx, ctr, -1, codec, frame, s!.done);
  }

  /**
   * The slow path of encrypt: the counter as a bigint, after the range check
   * and a reservation if one is due. Synchronous, so concurrent encrypts on
   * several tracks never share a counter. Returns the counter or the failure.
   */
  private takeCounter(): bigint | Result<never> {
    const s = this.send;
    if (!s) return fail('NO_KEY', 'no send key: drop the frame');
    const ctr = nextOf(s);
    if (ctr > MAX_U64) return fail('CTR_EXHAUSTED', `KID ${s.ctx.kid} has used every counter`);
    if (ctr + this.halfBlock >= s.reservedUpTo && s.reservedUpTo < LIMIT) {
      const r = this.reserveNext(s);
      if (!r.ok) return r;
    }
    if (ctr >= s.reservedUpTo) return fail('INTERNAL', 'counter not reserved');
    setNext(s, ctr + 1n);
    return ctr;
  }

  /** Announces the next block; the bound moves only once the page was told. */
  private reserveNext(s: SendState): Result<void> {
    let upTo = s.reservedUpTo + this.block;
    if (upTo > LIMIT) upTo = LIMIT;
    try {
      this.onReserve?.(s.ctx.kid, upTo);
    } catch (e) {
      return fail('INTERNAL', `onReserve failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    s.reservedUpTo = upTo;
    // The next reservation is due at upTo - halfBlock (never once upTo is 2^64); counters from 2^53 on stay on the slow path.
    const refill = upTo < LIMIT ? upTo - this.halfBlock : LIMIT;
    s.fastUntil = refill > MAX_EXACT_BIG ? MAX_EXACT : Number(refill);
    return ok(undefined);
  }

  private dropSendKey(): void {
    this.sendGeneration++;
    const s = this.send;
    if (!s) return;
    this.sentUpTo.set(s.ctx.kid, nextOf(s));
    s.ctx.salt.fill(0);
    this.send = undefined;
  }
}

function replayed<T>(kid: bigint, ctr: bigint): Result<T> {
  return fail('REPLAY', `CTR ${ctr} under KID ${kid} already seen or too old`);
}
