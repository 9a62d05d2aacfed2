// The links one participant holds for a meeting instance: the current one,
// which seals everything we send, and the ones the leader replaced. A replaced
// link still opens payloads, but only from participants who were in the
// meeting before it was replaced (members who have not caught up yet): from
// anyone else it is LINK_RETIRED, so a leaked old link admits nobody new.
// Pure and synchronous.

import { fail, ok, type Result } from './errors.ts';
import type { RelaySeal } from './link.ts';

/** Replaced links kept for stragglers; older ones are erased. */
const KEPT_LINKS = 3;

export interface Opened {
  value: string;
  /** Opened with a replaced link: the sender has not taken the new one yet. */
  retired: boolean;
}

export class LinkRing {
  private current: RelaySeal;
  private readonly replaced: RelaySeal[] = [];
  /** Participants who proved a link before its latest replacement. */
  private readonly before = new Set<string>();

  constructor(first: RelaySeal) {
    this.current = first;
  }

  /** Whether the leader ever replaced this meeting's link (as far as we know). */
  get changed(): boolean {
    return this.replaced.length > 0;
  }

  seal(from: string, payload: string): string {
    return this.current.seal(from, payload);
  }

  /** Seals with the link we held before the latest replacement (for those who have not taken it yet). */
  sealPrevious(from: string, payload: string): string {
    return (this.replaced[0] ?? this.current).seal(from, payload);
  }

  open(from: string, relayed: string): Result<Opened> {
    const now = this.current.open(from, relayed);
    if (now.ok) return ok({ value: now.value, retired: false });
    for (const old of this.replaced) {
      const r = old.open(from, relayed);
      if (!r.ok) continue;
      if (this.before.has(from)) return ok({ value: r.value, retired: true });
      return fail('LINK_RETIRED', `payload from '${from}' is sealed with a link the leader replaced`);
    }
    return now;
  }

  /** Takes a new link; `linked` are those who proved the one it replaces (they may still use it). */
  replace(next: RelaySeal, linked: Iterable<string>): void {
    for (const id of linked) this.before.add(id);
    this.replaced.unshift(this.current);
    this.current = next;
    for (const old of this.replaced.splice(KEPT_LINKS)) old.destroy();
  }

  destroy(): void {
    this.current.destroy();
    for (const old of this.replaced) old.destroy();
  }
}
