// Liveness nonces: each participant keeps issuing fresh random nonces (in its
// announcement, then one per ack); a key message must echo one of them. A key
// message may echo the nonce the previous accepted one echoed or any newer one,
// never an older one, so it provably postdates our last accepted key message.

import { SIZE } from './constants.ts';
import { constantTimeEqual } from '../bytes.ts';
import type { RandomBytes } from './primitives.ts';

export class LivenessNonces {
  /** Oldest first; everything here is still acceptable. */
  private issued: Uint8Array[] = [];

  constructor(
    private readonly random: RandomBytes,
    private readonly capacity = 32,
  ) {
    this.issue();
  }

  /** The newest nonce. */
  get latest(): Uint8Array {
    const n = this.issued[this.issued.length - 1];
    if (!n) throw new Error('unreachable: a nonce is issued at construction');
    return n;
  }

  issue(): Uint8Array {
    const n = this.random(SIZE.livenessNonce);
    this.issued.push(n);
    // Bounded memory: if acks keep getting lost, the oldest nonces expire.
    if (this.issued.length > this.capacity) this.issued.shift();
    return n;
  }

  /** Nonces a key message may echo right now. */
  acceptable(): readonly Uint8Array[] {
    return this.issued;
  }

  /** After accepting a key message: nothing older than its echo is acceptable again. */
  consume(echo: Uint8Array): void {
    const at = this.issued.findIndex((n) => constantTimeEqual(n, echo));
    if (at > 0) this.issued = this.issued.slice(at);
  }
}

export function isAcceptableEcho(echo: Uint8Array, acceptable: readonly Uint8Array[]): boolean {
  return acceptable.some((n) => constantTimeEqual(n, echo));
}
