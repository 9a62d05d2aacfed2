// Receive keys under compact KIDs: KIDs small enough to ride inline in the
// SFrame config byte (0-7, RFC 9605 §4.3), so the header is one byte plus the
// counter. Eight values cannot name an epoch and a sender, so the KID is only
// a slot: the receiver already knows the sender (the stream's transform is
// opened per sender), and the KID names one of the few generations (epochs)
// of that sender's key it holds at once.
//
// Never ambiguous: each (owner, slot) holds exactly one key. A newer
// generation in a slot erases the older one at once (it is 8 generations
// old: its frames are long gone); an older generation arriving after a newer
// one is refused (KID_CONFLICT), and so is a different key for the same
// generation. So a frame's KID names at most one key, and a frame is tried
// under exactly that key: one tag check, never a search.
//
// Each key has its own replay window, checked before and committed after the
// tag verified (as SFrameKeyStore). probe() opens a frame without touching the
// window: for diagnosing a failure (whose key is this?), never for accepting.

import { constantTimeEqual, type Bytes } from './bytes.ts';
import type { MediaCodec } from './clear-bytes.ts';
import { createKeyContext, type KeyContext } from './derive.ts';
import { fail, ok, type Result } from './errors.ts';
import { openMediaFrame, parseMediaFrame, type MediaFrameParts } from './media-frame.ts';
import { ReplayWindow } from './replay.ts';
import { getSuite, type CipherSuiteId } from './suites.ts';

/** KIDs 0..7 fit in the config byte's K field (X = 0). */
export const COMPACT_KID_SLOTS = 8;

export interface SlottedKeysOptions {
  suite: CipherSuiteId;
  /** Milliseconds clock, injectable for tests (default Date.now). */
  now?: () => number;
  /** Runs a sweep later so retired keys are erased even when no frames arrive (default setTimeout). */
  schedule?: (fn: () => void, ms: number) => void;
}

export interface SlottedFrame {
  readonly data: Bytes;
  /** The compact KID on the wire. */
  readonly kid: bigint;
  readonly ctr: bigint;
  /** The generation (epoch) of the key that opened it. */
  readonly generation: number;
  /** The caller's name for that key, given to add() (e.g. its full KID). */
  readonly label: bigint | undefined;
}

interface SlotEntry {
  readonly generation: number;
  readonly label: bigint | undefined;
  readonly ctx: KeyContext;
  readonly replay: ReplayWindow;
  expiresAt: number | undefined;
}

/** The slot of a generation: its compact KID. */
export function compactKidOf(generation: number): bigint {
  return BigInt(generation % COMPACT_KID_SLOTS);
}

export class SlottedReceiveKeys {
  /** owner → slot → key. */
  private readonly owners = new Map<string, Array<SlotEntry | undefined>>();
  /** Retirements of keys not (yet) installed, by owner and generation, so a late install still expires. */
  private readonly earlyRetire = new Map<string, number>();
  /** No key expires before this (Infinity: none is retiring), so a sweep is one comparison on the frame path. */
  private nextExpiry = Infinity;
  private readonly suite: CipherSuiteId;
  private readonly now: () => number;
  private readonly schedule: (fn: () => void, ms: number) => void;

  constructor(options: SlottedKeysOptions) {
    this.suite = options.suite;
    this.now = options.now ?? (() => Date.now());
    this.schedule = options.schedule ?? ((fn, ms) => void setTimeout(fn, ms));
  }

  /**
   * Derives `owner`'s key of `generation` (RFC 9605, under its compact KID) and
   * installs it in its slot. Re-adding the same key is a no-op (the replay
   * window is kept). `label` comes back with every frame the key opens.
   */
  async add(owner: string, generation: number, baseKey: Uint8Array, label?: bigint): Promise<Result<void>> {
    if (!Number.isSafeInteger(generation) || generation < 0) return fail('INVALID_ARGUMENT', `generation ${generation} out of range`);
    const suite = getSuite(this.suite);
    if (!suite.ok) return suite;
    const kid = compactKidOf(generation);
    const ctx = await createKeyContext(suite.value, kid, baseKey);
    if (!ctx.ok) return ctx;
    // From here on synchronous: concurrent adds for one slot are decided in arrival order of their derivations.
    this.sweep();
    const slots = this.slotsOf(owner);
    const held = slots[Number(kid)];
    if (held && held.generation > generation) {
      ctx.value.salt.fill(0);
      return fail('KID_CONFLICT', `compact KID ${kid} of ${owner} holds generation ${held.generation}, newer than ${generation}`);
    }
    if (held && held.generation === generation) {
      const same = constantTimeEqual(held.ctx.salt, ctx.value.salt);
      ctx.value.salt.fill(0);
      return same ? ok(undefined) : fail('KID_CONFLICT', `generation ${generation} of ${owner} already holds a different key`);
    }
    if (held) held.ctx.salt.fill(0); // 8 generations old: erased now, so the KID names one key only
    const retireAt = this.earlyRetire.get(retireKey(owner, generation));
    this.earlyRetire.delete(retireKey(owner, generation));
    slots[Number(kid)] = { generation, label, ctx: ctx.value, replay: new ReplayWindow(), expiresAt: retireAt };
    if (retireAt !== undefined) {
      this.nextExpiry = Math.min(this.nextExpiry, retireAt);
      this.sweep();
    }
    return ok(undefined);
  }

  has(owner: string, generation: number): boolean {
    this.sweep();
    return this.entry(owner, compactKidOf(generation))?.generation === generation;
  }

  /** Keeps `owner`'s key of `generation` usable for `afterMs` more, then erases it. */
  retire(owner: string, generation: number, afterMs: number): void {
    const at = this.now() + Math.max(0, Number.isFinite(afterMs) ? afterMs : 0);
    const e = this.entry(owner, compactKidOf(generation));
    if (e && e.generation === generation) {
      e.expiresAt = Math.min(e.expiresAt ?? Infinity, at);
      this.nextExpiry = Math.min(this.nextExpiry, e.expiresAt);
    } else if (!e || e.generation < generation) {
      const k = retireKey(owner, generation);
      this.earlyRetire.set(k, Math.min(this.earlyRetire.get(k) ?? Infinity, at));
      this.nextExpiry = Math.min(this.nextExpiry, at);
    }
    this.sweep();
    if (at > this.now()) this.schedule(() => this.sweep(), at - this.now());
  }

  /** Erases every key whose grace period is over. Cheap until the first one is due. */
  sweep(): void {
    const now = this.now();
    if (now < this.nextExpiry) return;
    this.nextExpiry = Infinity;
    for (const [owner, slots] of this.owners) {
      let live = 0;
      slots.forEach((e, i) => {
        if (e?.expiresAt !== undefined && e.expiresAt <= now) {
          e.ctx.salt.fill(0);
          slots[i] = undefined;
        } else if (e) {
          live++;
          if (e.expiresAt !== undefined) this.nextExpiry = Math.min(this.nextExpiry, e.expiresAt);
        }
      });
      if (live === 0) this.owners.delete(owner);
    }
    for (const [k, at] of this.earlyRetire) {
      if (at <= now) this.earlyRetire.delete(k);
      else this.nextExpiry = Math.min(this.nextExpiry, at);
    }
  }

  /** Opens `owner`'s frame: MALFORMED, UNKNOWN_KID, REPLAY or AUTH_FAILED on failure. */
  decrypt(owner: string, codec: MediaCodec, frame: Uint8Array): Promise<Result<SlottedFrame>> {
    const found = this.lookUp(owner, codec, frame);
    if (!found.ok) return Promise.resolve(found);
    const { entry, parts } = found.value;
    const { kid, ctr } = parts.header;
    if (!entry.replay.check(ctr)) return Promise.resolve(replayed(kid, ctr));
    return openMediaFrame(entry.ctx, parts).then((data) => {
      if (!data.ok) return data;
      // Committed only now (a forged frame must not move the window), re-checked for a concurrent open of the same CTR.
      if (!entry.replay.commit(ctr)) return replayed(kid, ctr);
      return ok({ data: data.value, kid, ctr, generation: entry.generation, label: entry.label });
    });
  }

  /**
   * Whether the frame opens under `owner`'s key for its KID (ok), or why not
   * (MALFORMED, UNKNOWN_KID, AUTH_FAILED). The replay window is neither
   * checked nor moved, and nothing opened is returned: for diagnosis only.
   */
  probe(owner: string, codec: MediaCodec, frame: Uint8Array): Promise<Result<void>> {
    const found = this.lookUp(owner, codec, frame);
    if (!found.ok) return Promise.resolve(found);
    return openMediaFrame(found.value.entry.ctx, found.value.parts).then((r) => (r.ok ? ok(undefined) : r));
  }

  /** Owners holding a key under this compact KID. */
  ownersOf(kid: bigint): string[] {
    this.sweep();
    return [...this.owners].filter(([, slots]) => slots[Number(kid)] !== undefined).map(([owner]) => owner);
  }

  private lookUp(owner: string, codec: MediaCodec, frame: Uint8Array): Result<{ entry: SlotEntry; parts: MediaFrameParts }> {
    const parts = parseMediaFrame(codec, frame);
    if (!parts.ok) return parts;
    const { kid } = parts.value.header;
    this.sweep();
    const entry = kid < BigInt(COMPACT_KID_SLOTS) ? this.entry(owner, kid) : undefined;
    if (!entry) return fail('UNKNOWN_KID', `no key of ${owner} for compact KID ${kid}`);
    return ok({ entry, parts: parts.value });
  }

  private entry(owner: string, kid: bigint): SlotEntry | undefined {
    return this.owners.get(owner)?.[Number(kid)];
  }

  private slotsOf(owner: string): Array<SlotEntry | undefined> {
    let slots = this.owners.get(owner);
    if (!slots) {
      slots = new Array<SlotEntry | undefined>(COMPACT_KID_SLOTS).fill(undefined);
      this.owners.set(owner, slots);
    }
    return slots;
  }
}

function retireKey(owner: string, generation: number): string {
  return `${generation}/${owner}`;
}

function replayed<T>(kid: bigint, ctr: bigint): Result<T> {
  return fail('REPLAY', `CTR ${ctr} under compact KID ${kid} already seen or too old`);
}
