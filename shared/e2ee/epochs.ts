// The epochs this participant knows: the verified roster chain (newest is the
// head, a few kept for late messages), the key ring, and the two cursors (the
// newest epoch whose key we hold, the one we send with). Installing, switching
// to and retiring an epoch emit the key events the media layer acts on.

import { constantTimeEqual } from '../bytes.ts';
import { LIMITS } from './constants.ts';
import type { Emitter } from './emitter.ts';
import type { AgentEvents } from './events.ts';
import { EpochKeyRing, type InstalledEpoch } from './key-ring.ts';
import type { VerifiedRoster } from './roster.ts';
import { describeRoster } from './roster-view.ts';
import { fingerprint, securityCode } from './security-code.ts';

export class Epochs {
  private current: VerifiedRoster | null = null;
  private readonly rosters = new Map<number, VerifiedRoster>();
  private readonly keys: EpochKeyRing;
  /** Fingerprints shown for roster members, by participant (with the key they were computed from): most carry over between epochs. */
  private readonly fingerprints = new Map<string, { identityKey: Uint8Array; fingerprint: string }>();
  /** Newest epoch whose key we hold (received or created). */
  keyEpoch = 0;
  private sending = 0;

  constructor(
    selfId: string,
    private readonly events: Emitter<AgentEvents>,
    private readonly exportSecret: (label: string, bytes: Uint8Array) => void,
  ) {
    this.keys = new EpochKeyRing(selfId);
  }

  /** The epoch we send with (0 before the first commit). */
  get sendEpoch(): number {
    return this.sending;
  }

  /** Our newest verified roster; null until we are in one. */
  get head(): VerifiedRoster | null {
    return this.current;
  }

  roster(epoch: number): VerifiedRoster | undefined {
    return this.rosters.get(epoch);
  }

  /** Keys of an installed, not yet retired epoch. */
  installed(epoch: number): InstalledEpoch | undefined {
    return this.keys.get(epoch);
  }

  /** A newly verified (or created) roster becomes the head. */
  adopt(v: VerifiedRoster): void {
    this.current = v;
    this.rosters.set(v.roster.epoch, v);
    for (const epoch of this.rosters.keys()) if (epoch <= v.roster.epoch - LIMITS.keptRosters) this.rosters.delete(epoch);
  }

  /** Derives the epoch's frame and chat keys (erasing the epoch key) and hands the receive keys out. */
  install(v: VerifiedRoster, epochKey: Uint8Array): void {
    const installed = this.keys.install(v, epochKey);
    this.exportSecret(`epoch ${installed.epoch} chat key`, installed.chatKey);
    // Listeners get copies: we erase ours when the epoch retires.
    this.events.emit('receive-keys', {
      epoch: installed.epoch,
      senders: installed.senders.map((k) => ({ participantId: k.participantId, kid: k.kid, baseKey: k.baseKey.slice() })),
    });
  }

  /**
   * Starts sending with a committed epoch and shows its roster with its
   * security code (never before: the code needs the epoch's key). Returns the
   * older epochs to retire after the grace period, or null if we hold no keys for it.
   */
  switchTo(epoch: number): number[] | null {
    const keys = this.keys.get(epoch);
    const roster = this.rosters.get(epoch);
    if (!keys || !roster) return null;
    this.sending = epoch;
    this.events.emit('send-key', { epoch, kid: keys.own.kid, baseKey: keys.own.baseKey.slice() });
    this.events.emit('roster', describeRoster(roster.roster, securityCode(roster.hash, keys.authenticator), this.fingerprintOf));
    return this.keys.epochsBefore(epoch);
  }

  /** Every epoch we hold keys for (retired together when we are removed). */
  held(): number[] {
    return this.keys.all();
  }

  retire(epochs: readonly number[]): void {
    for (const epoch of epochs) if (this.keys.retire(epoch)) this.events.emit('retire-epoch', { epoch });
  }

  /**
   * Before we first send, a new first roster replaces ours: the rosters and
   * keys we took under the old one go with it. `keyEpoch` stays, so no epoch
   * number is ever installed twice (its leader is asked for a newer one, §7.5a).
   */
  restartChain(): void {
    this.retire(this.held());
    this.rosters.clear();
    this.current = null;
  }

  /** Erases every key (stop()). */
  clear(): void {
    this.keys.clear();
  }

  fingerprintOf = (identityKey: Uint8Array, participantId = ''): string => {
    // Looked up by participant; a hit must carry the same whole key.
    const hit = this.fingerprints.get(participantId);
    if (hit && constantTimeEqual(hit.identityKey, identityKey)) return hit.fingerprint;
    const fp = fingerprint(identityKey);
    if (participantId) {
      if (this.fingerprints.size >= 2 * LIMITS.maxMembers) this.fingerprints.clear();
      this.fingerprints.set(participantId, { identityKey: identityKey.slice(), fingerprint: fp });
    }
    return fp;
  };
}
