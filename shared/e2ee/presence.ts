// Who is in the meeting, as far as this participant knows: the server's join
// order and departures, verified announcements of those not yet in a roster
// (candidates), the latest liveness nonce per participant, and who was removed
// or denied. Server notices are trusted only for presence, never for keys.

import type { Announcement } from './announcement.ts';
import { ID_PATTERN } from './constants.ts';
import type { Roster } from './roster.ts';

export class Presence {
  /** Server's join order (including us). */
  private readonly joinOrder: string[] = [];
  /** IDs the server said left: never trusted again. */
  readonly departed = new Set<string>();
  /** Verified announcements of present participants not yet in our head roster. */
  readonly candidates = new Map<string, Announcement>();
  /** Latest liveness nonce we know per participant, echoed if we lead. */
  readonly echoes = new Map<string, Uint8Array>();
  /** Removed or denied participants (from signed rosters and leader-signed denials): never added again. */
  readonly excluded = new Set<string>();

  constructor(private readonly selfId: string) {}

  /** The server's list at our join; returns how many entries were invalid (skipped). */
  start(presentIds: readonly string[]): number {
    // Joins notified before start() came after the server's snapshot: they go after us.
    const laterJoins = this.joinOrder.splice(0);
    let invalid = 0;
    for (const id of presentIds) {
      if (!ID_PATTERN.test(id) || id === this.selfId || this.joinOrder.includes(id)) {
        invalid++;
        continue;
      }
      this.joinOrder.push(id);
    }
    this.joinOrder.push(this.selfId, ...laterJoins.filter((id) => !this.joinOrder.includes(id)));
    return invalid;
  }

  /** First in join order: leads a new chain. */
  get first(): string | undefined {
    return this.joinOrder[0];
  }

  /** A join notice; false if we knew already. */
  joined(id: string): boolean {
    if (this.joinOrder.includes(id)) return false;
    this.joinOrder.push(id);
    return true;
  }

  /** A leave notice; false if we knew already. */
  left(id: string): boolean {
    if (this.departed.has(id)) return false;
    this.departed.add(id);
    this.candidates.delete(id);
    this.echoes.delete(id);
    return true;
  }

  /** The server listed this ID at some point (present or gone). */
  wasListed(id: string): boolean {
    return this.joinOrder.includes(id);
  }

  isPresent = (id: string): boolean => !this.departed.has(id) && this.joinOrder.includes(id);

  /** Someone the server listed before us is still here (so it, not we, should start a chain). */
  anyoneAhead(): boolean {
    return this.joinOrder.slice(0, this.joinOrder.indexOf(this.selfId)).some(this.isPresent);
  }

  /** A newly verified announcement from someone not in our roster. */
  announced(a: Announcement): void {
    this.candidates.set(a.participantId, a);
    this.echoes.set(a.participantId, a.nonce);
  }

  /** Roster members are no longer candidates; their signed nonce is the echo until a fresher one arrives. */
  adopt(r: Roster): void {
    for (const m of r.members) {
      this.candidates.delete(m.participantId);
      if (!this.echoes.has(m.participantId)) this.echoes.set(m.participantId, m.nonce);
    }
  }

  exclude(id: string): void {
    this.excluded.add(id);
    this.candidates.delete(id);
  }
}
