// The keys this participant holds per epoch (SFrame base keys, the chat key
// and the epoch authenticator behind the security code): installed when an
// epoch's key is verified, erased when it retires.

import { chatKeyFrom } from './chat.ts';
import { linkUpdateKeyFrom } from './link-update.ts';
import { epochAuthenticatorFrom } from './security-code.ts';
import { frameKeySalt, frameKeysFrom, type SenderKey } from './sender-keys.ts';
import { HkdfSha256 } from './hkdf.ts';
import { wipe } from './primitives.ts';
import { rosterIndexOf, type VerifiedRoster } from './roster.ts';

export interface InstalledEpoch {
  epoch: number;
  /** Our own key: what we encrypt with once the epoch is committed. */
  own: SenderKey;
  /** Everyone else's keys, for decryption. */
  senders: SenderKey[];
  /** Key for this epoch's chat messages. */
  chatKey: Uint8Array;
  /** Proof of holding this epoch's key with this roster: the security code is made from it. */
  authenticator: Uint8Array;
  /** Boxes a new meeting link the leader issues under this epoch (link-update.ts). */
  linkKey: Uint8Array;
}

export class EpochKeyRing {
  private readonly epochs = new Map<number, InstalledEpoch>();

  constructor(private readonly selfId: string) {}

  /** Derives every member's base key, the chat key and the authenticator; consumes (erases) the epoch key. */
  install(v: VerifiedRoster, epochKey: Uint8Array): InstalledEpoch {
    const r = v.roster;
    const labels = { meetingId: r.meetingId, instanceId: r.instanceId, epoch: r.epoch };
    // Frame keys, chat key and authenticator share the salt, so one HKDF-Extract serves all.
    const hkdf = new HkdfSha256(epochKey, frameKeySalt(labels));
    wipe(epochKey);
    let keys: SenderKey[];
    let chatKey: Uint8Array;
    let authenticator: Uint8Array;
    let linkKey: Uint8Array;
    try {
      keys = frameKeysFrom(
        hkdf,
        labels,
        r.members.map((m) => m.participantId),
      );
      chatKey = chatKeyFrom(hkdf, labels);
      authenticator = epochAuthenticatorFrom(hkdf, labels, v.hash);
      linkKey = linkUpdateKeyFrom(hkdf, labels);
    } finally {
      hkdf.destroy();
    }
    const own = keys[rosterIndexOf(r, this.selfId)];
    if (!own) throw new Error(`installing epoch ${r.epoch}, which does not list us`);
    const installed = { epoch: r.epoch, own, senders: keys.filter((k) => k !== own), chatKey, authenticator, linkKey };
    this.epochs.set(r.epoch, installed);
    return installed;
  }

  get(epoch: number): InstalledEpoch | undefined {
    return this.epochs.get(epoch);
  }

  has(epoch: number): boolean {
    return this.epochs.has(epoch);
  }

  epochsBefore(epoch: number): number[] {
    return [...this.epochs.keys()].filter((e) => e < epoch);
  }

  all(): number[] {
    return [...this.epochs.keys()];
  }

  /** Erases one epoch's keys; false if it was not held. */
  retire(epoch: number): boolean {
    const e = this.epochs.get(epoch);
    if (!e) return false;
    for (const k of [e.own, ...e.senders]) wipe(k.baseKey);
    wipe(e.chatKey);
    wipe(e.authenticator);
    wipe(e.linkKey);
    this.epochs.delete(epoch);
    return true;
  }

  clear(): void {
    for (const epoch of this.all()) this.retire(epoch);
  }
}
