// A budget of signature checks per relay sender (a token bucket on the
// agent's injected clock). Signature checks are the costly part of taking a
// message in (a 1,024-member roster is 1,025 of them), and the server chooses
// what to relay and from whom: without a bound, one sender can keep our CPU
// busy. Honest traffic stays far below the budget; over it, a message is
// dropped before its signatures are checked (RATE_LIMITED). The relay sender
// is the server's word, so the server can spend someone else's budget: that
// is a denial of service it can always do anyway, by dropping messages.

import { LIMITS } from './constants.ts';

export interface VerifyBudgetOptions {
  now: () => number;
  /** Checks a sender regains per second. */
  perSecond?: number;
  /** Most checks a sender may use at once (a full bucket). */
  burst?: number;
  /** Senders tracked; the least recently charged one is forgotten first. */
  maxSenders?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class VerifyBudget {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perSecond: number;
  private readonly burst: number;
  private readonly maxSenders: number;

  constructor(private readonly o: VerifyBudgetOptions) {
    this.perSecond = o.perSecond ?? LIMITS.verifyPerSecond;
    this.burst = o.burst ?? LIMITS.verifyBurst;
    this.maxSenders = o.maxSenders ?? 2 * LIMITS.maxMembers;
  }

  /** Takes `n` checks from `sender`'s budget; false (taking nothing) if fewer are left. */
  take(sender: string, n = 1): boolean {
    const now = this.o.now();
    const b = this.buckets.get(sender) ?? { tokens: this.burst, at: now };
    const tokens = Math.min(this.burst, b.tokens + (Math.max(0, now - b.at) * this.perSecond) / 1000);
    const enough = tokens >= n;
    // Re-inserted so the map's order is least recently charged first.
    this.buckets.delete(sender);
    this.buckets.set(sender, { tokens: enough ? tokens - n : tokens, at: now });
    if (this.buckets.size > this.maxSenders) this.buckets.delete(this.buckets.keys().next().value as string);
    return enough;
  }

  /** The check to hand to a verification: one signature check charged to `sender` per call. */
  spender(sender: string): () => boolean {
    return () => this.take(sender);
  }
}
