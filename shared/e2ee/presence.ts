// Who is in the meeting, as far as this participant knows: the server's join
// order and departures, verified announcements of those not yet in a roster
// (candidates), the latest liveness nonce per participant, and who was removed
// or denied. Server notices are trusted only for presence, never for keys.

import { sameAnnouncement, verifyAnnouncement, type Announcement, type VerifiedAnnouncements } from './announcement.ts';
import { ID_PATTERN } from './constants.ts';
import { fail, ok, type Result } from './errors.ts';
import type { Roster } from './roster.ts';
import type { VerifyBudget } from './verify-budget.ts';

export class Presence {
  /** Server's join order (including us). */
  private readonly joinOrder: string[] = [];
  /** IDs the server said left: never trusted again. */
  readonly departed = new Set<string>();
  /** Verified announcements of present participants not yet in our head roster. */
  readonly candidates = new Map<string, Announcement>();
  /** Latest liveness nonce we know per participant, echoed if we lead. */
  readonly echoes = new Map<string, Uint8Array>();
  /** Epoch of the ack each echo came from (none: from an announcement or roster). */
  private readonly echoEpoch = new Map<string, number>();
  /**
   * Per member, the `next` X25519 key of its newest verified ack (and that
   * ack's epoch): if we lead, we seal its next epoch to it. Without one, the
   * key it announced. Only acks sent to us land here, so a new leader starts
   * from the announced keys.
   */
  private readonly nextDh = new Map<string, { epoch: number; key: Uint8Array }>();
  /** Removed or denied participants (from signed rosters and leader-signed denials): never added again. */
  readonly excluded = new Set<string>();
  /** Participants who sent a payload sealed with our meeting link: they hold it. */
  private readonly linked = new Set<string>();
  /** Participants whose payloads our link does not open, and none that did: outside this meeting for us. */
  readonly outsiders = new Set<string>();

  private readonly selfId: string;

  constructor(
    private readonly meeting: { meetingId: string; instanceId: string; selfId: string },
    /** Announcement signatures verified so far, shared with roster verification. */
    private readonly verified: VerifiedAnnouncements,
    /** Signature checks per relay sender; none if absent. */
    private readonly budget?: VerifyBudget,
  ) {
    this.selfId = meeting.selfId;
  }

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

  /** Passed over as a silent leader (§5), and not reported gone by the server since. */
  private readonly passedOver = new Set<string>();

  /** Left out of the next epoch we lead (those silent ahead of us, §5): candidates again once they announce again. */
  setAside(ids: Iterable<string>): void {
    for (const id of ids) this.candidates.delete(id);
  }

  /** A leave notice (or `passedOver`: a leader we treat as gone, §5); false if we knew already. */
  left(id: string, passedOver = false): boolean {
    if (!passedOver) this.passedOver.delete(id);
    if (this.departed.has(id)) return false;
    if (passedOver) this.passedOver.add(id);
    this.departed.add(id);
    this.candidates.delete(id);
    this.echoes.delete(id);
    this.echoEpoch.delete(id);
    this.nextDh.delete(id);
    return true;
  }

  /** A verified ack's `next` key. An ack for an older epoch than the newest we took one from changes nothing. */
  /**
   * A verified ack's liveness nonce becomes `id`'s echo, unless we already took
   * one from an ack for a later epoch: a replayed old ack must not roll the echo
   * back (the member has moved past that nonce and would refuse our next key
   * message as STALE_NONCE, and every resend of it).
   */
  ackedEcho(id: string, epoch: number, nonce: Uint8Array): boolean {
    const known = this.echoEpoch.get(id);
    if (known !== undefined && known > epoch) return false;
    this.echoEpoch.set(id, epoch);
    this.echoes.set(id, nonce);
    return true;
  }

  /** Whether an ack or resend request of `id` reached us: we know the nonce it last issued. */
  freshEcho = (id: string): boolean => this.echoEpoch.has(id);

  ackedNext(id: string, epoch: number, key: Uint8Array): void {
    const known = this.nextDh.get(id);
    if (known && known.epoch > epoch) return;
    this.nextDh.set(id, { epoch, key });
  }

  /** The key to seal `id`'s next epoch to, if its acks named one. */
  dhKeyFor = (id: string): Uint8Array | undefined => this.nextDh.get(id)?.key;

  isPresent = (id: string): boolean => !this.departed.has(id) && this.joinOrder.includes(id);

  /** A leader we passed over leads the chain we take now (§7.5a, lone leaders): it is present again. */
  returned(id: string): void {
    if (this.passedOver.delete(id)) this.departed.delete(id);
  }

  /** The server lists `id` as present (a leader we passed over too), and listed it before us. */
  joinedBefore(id: string): boolean {
    return (this.isPresent(id) || this.passedOver.has(id)) && this.listedBefore(id, this.selfId);
  }

  /** The server lists `id` as present, and listed it after us. */
  joinedAfter(id: string): boolean {
    return this.isPresent(id) && this.joinOrder.indexOf(id) > this.joinOrder.indexOf(this.selfId);
  }

  /**
   * Someone the server listed before us is still here (so it, not we, should
   * start a chain). Outsiders do not count: they cannot key us (another link,
   * or the server's own participant), so waiting for them would wait forever.
   */
  anyoneAhead(): boolean {
    return this.joinOrder.slice(0, this.joinOrder.indexOf(this.selfId)).some((id) => this.isPresent(id) && !this.outsiders.has(id));
  }

  /**
   * Those the server listed before us that could lead an older chain than one we lead: present
   * (or only passed over by us), not outsiders, not removed or denied. A chain of ours that does
   * not have them all as acking members is provisional (roster.ts).
   */
  ahead(): string[] {
    const at = this.joinOrder.indexOf(this.selfId);
    return this.joinOrder
      .slice(0, Math.max(0, at))
      .filter((id) => (this.isPresent(id) || this.passedOver.has(id)) && !this.outsiders.has(id) && !this.excluded.has(id));
  }

  /** Whether the server listed `a` before `b` (both listed). */
  listedBefore(a: string, b: string): boolean {
    const i = this.joinOrder.indexOf(a);
    const j = this.joinOrder.indexOf(b);
    return i >= 0 && j >= 0 && i < j;
  }

  /** A payload from `id` opened with our link: it holds the link. True if it was an outsider until now. */
  proved(id: string): boolean {
    this.linked.add(id);
    return this.outsiders.delete(id);
  }

  /**
   * The leader replaced the meeting link: only `members` (the roster it was
   * replaced under) still count as holding a link until they prove the new
   * one. Returns the candidates dropped from the lobby: they must come back with the new link.
   */
  relinked(members: ReadonlySet<string>): string[] {
    for (const id of this.linked) if (!members.has(id)) this.linked.delete(id);
    const dropped = [...this.candidates.keys()].filter((id) => !members.has(id));
    for (const id of dropped) this.candidates.delete(id);
    return dropped;
  }

  /** A payload from `id` that our link does not open. True the first time `id` becomes an outsider. */
  failedProof(id: string): boolean {
    if (this.linked.has(id) || this.outsiders.has(id)) return false;
    this.outsiders.add(id);
    return true;
  }

  /**
   * A relayed announcement. A new one from a listed participant not in `head`
   * becomes a candidate (true); a re-broadcast of a known one is normal (false);
   * new keys under a known ID are not accepted.
   */
  announce(from: string, a: Announcement, head: Roster | null): Result<boolean> {
    if (this.departed.has(from)) return fail('PARTICIPANT_ID_REUSED', `announcement from '${from}', who already left`);
    if (!this.joinOrder.includes(from)) return fail('UNKNOWN_PARTICIPANT', `announcement from '${from}', whom the server never reported`);
    if (this.excluded.has(from)) return fail('PARTICIPANT_EXCLUDED', `announcement from '${from}', whom the leader removed or denied`);
    const { meetingId, instanceId } = this.meeting;
    const spend = this.budget?.spender(from);
    const checked = verifyAnnouncement(a, { meetingId, instanceId, from, ...(spend ? { spend } : {}) }, this.verified);
    if (!checked.ok) return checked;
    const inRoster = head?.members.find((m) => m.participantId === from);
    const known = this.candidates.get(from) ?? (inRoster && { meetingId, instanceId, ...inRoster });
    if (known) return sameAnnouncement(known, a) ? ok(false) : fail('ANNOUNCEMENT_CONFLICT', `'${from}' announced different keys`);
    this.candidates.set(from, a);
    this.echoes.set(from, a.nonce);
    return ok(true);
  }

  /** The identity key of each participant that led a roster we took. */
  private readonly leaders = new Map<string, Uint8Array>();

  /**
   * The identity key of `id` if it led a roster we took and the server has
   * reported it gone (not merely passed over by us): its signed removals
   * still stand (§7.5a, late rosters).
   */
  formerLeaderKey(id: string): Uint8Array | undefined {
    return this.departed.has(id) && !this.passedOver.has(id) ? this.leaders.get(id) : undefined;
  }

  /** Whether `id` led a roster we took. */
  ledBefore = (id: string): boolean => this.leaders.has(id);

  /** Roster members are no longer candidates; their signed nonce is the echo until a fresher one arrives. */
  adopt(r: Roster): void {
    const leader = r.members[0];
    if (leader) this.leaders.set(leader.participantId, leader.identityKey);
    for (const m of r.members) {
      this.candidates.delete(m.participantId);
      if (!this.echoes.has(m.participantId)) this.echoes.set(m.participantId, m.nonce);
    }
  }

  /** A first roster we drop (agent.ts, silent participants ahead): its other present members are candidates again. */
  restore(r: Roster, meeting: { meetingId: string; instanceId: string }): void {
    for (const m of r.members) {
      const id = m.participantId;
      if (id === this.selfId || !this.isPresent(id) || this.excluded.has(id) || this.candidates.has(id)) continue;
      this.candidates.set(id, { ...meeting, ...m });
    }
  }

  exclude(id: string): void {
    this.excluded.add(id);
    this.candidates.delete(id);
  }
}
