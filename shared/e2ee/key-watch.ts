// The stop rule of protocol.md §7a, for a member (and a member that took over as leader): once it
// learns of a change (a newer verified roster, a commit from its leader for an
// epoch it has no key for, a member of its current roster leaving) it must
// send under a newer epoch within keyWaitMs. If it holds that epoch's key by
// then it switches to it (the commit may be late or withheld); if not, it stops
// sending (the send key is cleared: frames are dropped, never sent under the
// epoch the change made outdated) and asks its leader for a resend, every
// resendRetryMs while it stays stopped (resendAttempts times per change). When the key arrives it sends under it at once.

import type { AgentTiming, RekeyReason } from './events.ts';
import type { InputQueue } from './input-queue.ts';

export interface KeyWatchOptions {
  timing: Pick<AgentTiming, 'keyWaitMs' | 'resendRetryMs' | 'resendAttempts'>;
  queue: InputQueue;
  /** Whether the rule applies now: a keyed member that does not lead. */
  applies: () => boolean;
  sendEpoch: () => number;
  /** Newest epoch whose key and roster we hold. */
  keyEpoch: () => number;
  /** Send under an epoch whose key we hold (it resumes sending if we stopped). */
  switchTo: (epoch: number) => void;
  /** Clear the send key and say so. */
  stop: (waitingFor: number, reason: RekeyReason) => void;
  /** Ask the leader for its newest epoch. */
  request: () => void;
}

export class KeyWatch {
  /** The epoch we must send under (0: nothing pending). */
  private needed = 0;
  private reason: RekeyReason = 'newer-roster';
  private timer: unknown = null;
  private stopped = false;
  private attempts = 0;
  /** Epochs we switched to before (or without) their commit: their commit is expected, not stale. */
  private readonly early = new Set<number>();

  constructor(private readonly o: KeyWatchOptions) {}

  /** We learned that epoch `epoch` (or a later one) replaces the one we send with. */
  learned(epoch: number, reason: RekeyReason): void {
    if (epoch <= this.needed || epoch <= this.o.sendEpoch()) return;
    this.needed = epoch;
    this.reason = reason;
    // Not sending yet (keyed, waiting for the commit): remember it, and start the
    // clock when we switch to an epoch older than this one (see switched).
    if (!this.o.applies()) return;
    // The deadline runs from the first change we learned of; later ones do not push it back.
    if (this.timer === null && !this.stopped) this.timer = this.o.queue.timer(this.o.timing.keyWaitMs, () => this.deadline());
    // Stopped: a newer epoch is worth a new round of requests (now, if between rounds).
    else if (this.stopped) {
      this.attempts = 0;
      if (this.timer === null) this.retry();
    }
  }

  /** We installed an epoch's key: if we stopped waiting for it, send under it now. */
  keyInstalled(epoch: number): void {
    if (!this.stopped || epoch < this.needed || !this.o.applies()) return;
    this.markEarly(epoch);
    this.o.switchTo(epoch);
  }

  /** Stopped past the deadline for a newer epoch: an older one (a late commit) must not resume sending. */
  outdated(epoch: number): boolean {
    return this.stopped && epoch < this.needed;
  }

  /**
   * We lead now, from a head whose next epoch is `epoch` (failover): epochs of
   * the old leader's chain that we learned of and never got will not come, and
   * the epoch we make replaces them. The deadline keeps running for ours.
   */
  leading(epoch: number): void {
    if (this.needed > epoch) this.needed = epoch;
  }

  /** We send under `epoch` now (committed, or switched early). */
  switched(epoch: number): void {
    if (epoch >= this.needed) return this.reset();
    // We start sending under an epoch a change we already learned of made outdated
    // (a member left while we waited for its commit): the deadline runs from now.
    if (this.timer === null && !this.stopped) this.timer = this.o.queue.timer(this.o.timing.keyWaitMs, () => this.deadline());
  }

  /** A commit for an epoch we already switched to early: expected, not an error. */
  committedEarly(epoch: number): boolean {
    return this.early.delete(epoch);
  }

  /** Removed, stopped or leading: nothing to watch. */
  reset(): void {
    this.o.queue.cancel(this.timer);
    this.timer = null;
    this.needed = 0;
    this.stopped = false;
    this.attempts = 0;
  }

  private deadline(): void {
    this.timer = null;
    if (!this.o.applies() || this.o.sendEpoch() >= this.needed) return this.reset();
    const held = this.o.keyEpoch();
    if (held >= this.needed) {
      this.markEarly(held);
      return this.o.switchTo(held);
    }
    this.stopped = true;
    this.o.stop(this.needed, this.reason);
    this.retry();
  }

  private markEarly(epoch: number): void {
    if (this.early.size >= 8) this.early.clear(); // their commits are long due
    this.early.add(epoch);
  }

  private retry(): void {
    if (!this.stopped || this.attempts >= this.o.timing.resendAttempts || !this.o.applies()) return;
    this.attempts++;
    this.o.request();
    this.timer = this.o.queue.timer(this.o.timing.resendRetryMs, () => {
      this.timer = null;
      this.retry();
    });
  }
}
