// A member's X25519 key pairs for key messages (post-compromise healing,
// finding 12). The one it announced is kept for the meeting: a new leader
// (after a failover) knows no other and seals its first epoch to it. Each ack
// carries a `next` public key; the leader seals the following epoch to it.
// Once a key message sealed to some key has been opened, every key made
// before it (except the announced one) is erased: the leader has moved past
// them. So a private key stolen at one epoch opens the key messages sealed to
// it (and to the announced key), not those sealed to keys made after the theft.
//
// At most three key pairs are held: the announced one, the last one used, and
// one `next` not used yet. An ack repeats the unused `next` rather than making
// another, so a leader that lags (ack in flight, lost, or committed without
// it) can always reach us with a key we still hold.

import { constantTimeEqual } from '../bytes.ts';
import { toBase64Url } from './encoding.ts';
import { dhKeyPairFromSeed, wipe, type DhKeyPair, type RandomBytes } from './primitives.ts';

interface Held {
  pair: DhKeyPair;
  used: boolean;
}

export class DhKeyChain {
  /** In the order made; the announced key is first and stays. */
  private readonly held: Held[];
  private made = 0;

  constructor(
    announced: DhKeyPair,
    private readonly random: RandomBytes,
    private readonly exportSecret: (label: string, bytes: Uint8Array) => void,
    private readonly selfId: string,
  ) {
    this.held = [{ pair: announced, used: false }];
  }

  /** Our key pair for `publicKey`, if we still hold it. */
  find = (publicKey: Uint8Array): DhKeyPair | undefined => this.held.find((h) => constantTimeEqual(h.pair.publicKey, publicKey))?.pair;

  /**
   * A key message sealed to `publicKey` opened: erases every key made before
   * it (not the announced one), and returns the public key to send as `next`
   * in the ack (the unused newest one, or a fresh one).
   */
  used(publicKey: Uint8Array): Uint8Array {
    const at = this.held.findIndex((h) => constantTimeEqual(h.pair.publicKey, publicKey));
    const entry = this.held[at];
    if (entry) {
      entry.used = true;
      if (at > 1) for (const old of this.held.splice(1, at - 1)) wipe(old.pair.privateKey);
    }
    const newest = this.held[this.held.length - 1];
    if (newest && this.held.length > 1 && !newest.used) return newest.pair.publicKey;
    // The announced key, once used by a new leader, does not count as a `next` we could repeat.
    const pair = dhKeyPairFromSeed(this.random(32));
    this.made++;
    this.exportSecret(`X25519 private key of ${this.selfId} #${this.made} (${toBase64Url(pair.publicKey)})`, pair.privateKey);
    this.held.push({ pair, used: false });
    // Bounded: the announced key, the last used one, this one.
    while (this.held.length > 3) {
      const old = this.held.splice(1, 1)[0];
      if (old) wipe(old.pair.privateKey);
    }
    return pair.publicKey;
  }

  /** How many key pairs we hold (tests). */
  get size(): number {
    return this.held.length;
  }

  /** Erases every private key (stop). */
  clear(): void {
    for (const h of this.held) wipe(h.pair.privateKey);
    this.held.length = 1;
  }
}
