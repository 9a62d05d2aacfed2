// The member's side of the protocol: verifies the leader's rosters, opens its
// key messages (and acks them), follows its commits, and takes its admission
// decisions. Each input is checked by the pure modules; this keeps no state of
// its own beyond the liveness nonces and its X25519 key chain (dh-chain.ts),
// and tells the agent what changed.

import { constantTimeEqual } from '../bytes.ts';
import { createAck } from './ack.ts';
import { verifyAdmissionForMember, verifyAdmissionForNewcomer, type Admission } from './admission.ts';
import type { Announcement, VerifiedAnnouncements } from './announcement.ts';
import { verifyCommit, type Commit } from './commit.ts';
import type { DhKeyChain } from './dh-chain.ts';
import type { Epochs } from './epochs.ts';
import type { E2eeErrorCode } from './errors.ts';
import { lateRoster } from './late-roster.ts';
import type { DecidedBy, RekeyReason } from './events.ts';
import type { IdentityKeyPair } from './identity.ts';
import { openKeysMessage, type KeysMessage } from './key-message.ts';
import type { LivenessNonces } from './liveness.ts';
import type { Presence } from './presence.ts';
import { applyRosterDelta, type RosterDelta } from './roster-delta.ts';
import { expectedLeader, rosterIndexOf, rosterLeader, rosterSignedBy, verifyRoster, type Roster, type VerifiedRoster } from './roster.ts';
import { fingerprint } from './security-code.ts';
import type { VerifyBudget } from './verify-budget.ts';
import type { WireMessage } from './wire.ts';

export interface MemberOptions {
  meetingId: string;
  instanceId: string;
  selfId: string;
  self: Announcement;
  identity: IdentityKeyPair;
  /** Our X25519 key pairs: the announced one and the `next` ones of our acks. */
  dhKeys: DhKeyChain;
  nonces: LivenessNonces;
  verifiedAnnouncements: VerifiedAnnouncements;
  presence: Presence;
  epochs: Epochs;
  /** Signature checks per relay sender. */
  budget: VerifyBudget;
  exportSecret: (label: string, bytes: Uint8Array) => void;
  send: (to: string | null, m: WireMessage) => void;
  reject: (code: E2eeErrorCode, message: string, from?: string) => void;
  /** A verified roster that lists us: the new head. */
  adopt: (roster: VerifiedRoster) => void;
  /** Removals and denials a late roster (late-roster.ts) signed: they apply to our chain too. */
  lateExclusions: (ids: readonly string[]) => void;
  /** A verified roster without us. */
  removed: (reason: 'removed-by-leader' | 'dropped') => void;
  switchTo: (epoch: number) => void;
  /** The stop rule (key-watch.ts): a change we learned of, a key we installed, a commit we switched ahead of. */
  learned: (epoch: number, reason: RekeyReason) => void;
  installed: (epoch: number) => void;
  committedEarly: (epoch: number) => boolean;
  /** Ask our leader to resend what we missed (its rosters since our newest key, and its keys). */
  catchUp: () => void;
  /** We lead, and no other member of our head ever acked an epoch of our chain (§7.5a, lone leaders). */
  leadsAlone: () => boolean;
  /** Ask `to` to resend its newest epoch as to a newcomer (its full roster first): we may yield to it. */
  askFirstRoster: (to: string) => void;
  /** Whether we are stopped (not sending under our head): only then may a roster graft onto it (§7.5a). */
  stuck: () => boolean;
  /** Our leader sent a roster of another chain no newer than our head: ask it for an epoch above ours. */
  forked: () => void;
  /**
   * We lead, and `from`, a member of our head, sent a provisional roster of a chain it leads, signed
   * by it (checked here): our epoch in flight need not wait for it (leader.ts otherChain).
   */
  otherChain: (from: string, listed: readonly string[]) => void;
  /** We lead now (only then is a provisional roster of a member's worth the signature check). */
  leads: () => boolean;
  /** We replaced our first roster before sending: a change learned under the old one no longer applies. */
  restarted: () => void;
  /** A leader-signed decision about us, as a newcomer. */
  decided: (decision: Admission['decision'], by: DecidedBy) => void;
  /** A leader-signed denial of another newcomer: we keep it in case we lead next. */
  exclude: (participantId: string) => void;
}

export class MemberSide {
  /**
   * The newest roster our leader sent that did not chain to our head while we were still sending
   * (a fork, §7.5a), and its key message: kept, one each, to try again as a graft once we stop.
   * Our leader sends them once; without this a member that stops a moment after they came waits
   * for a rate-limited resend.
   */
  private unchained: { from: string; r: Roster } | null = null;
  private unrostered: { from: string; k: KeysMessage } | null = null;
  /**
   * We yielded our chain to another's roster and its leader has not keyed us yet: as for a newcomer,
   * that roster decided nothing, and another that lists us replaces it (an insider listed before us
   * can send one and never key us; the older chain's roster must still get us).
   */
  private yieldedUnkeyed = false;

  /**
   * The newest roster from a participant listed before us that lists us and that we refused, or
   * (a delta we could not rebuild) just its sender: we may yield to it once we lead alone.
   */
  private foreign: { from: string; r?: Roster } | null = null;

  constructor(private readonly o: MemberOptions) {}

  /** Nobody else acked the chain we lead now: a roster we refused before may be one to yield to. */
  alone(): void {
    const held = this.foreign;
    this.foreign = null;
    if (!held || !this.o.presence.joinedBefore(held.from)) return;
    if (!held.r) this.o.askFirstRoster(held.from);
    else if (this.yields(held.from, held.r)) this.roster(held.from, held.r);
  }

  /** We stopped sending: a roster our leader sent that could not graft while we sent may now (§7.5a). */
  stopped(): void {
    const held = this.unchained;
    this.unchained = null;
    if (held && this.o.stuck() && this.o.epochs.head && held.r.epoch > this.o.epochs.head.roster.epoch) this.roster(held.from, held.r);
  }

  roster(from: string, r: Roster): void {
    const { o } = this;
    const held = o.epochs.head;
    // Our head again (a resend answers with roster, keys and commit; we may have had the roster): nothing new.
    if (held && r.epoch === held.roster.epoch && constantTimeEqual(r.signature, held.roster.signature)) return;
    const yielding = this.yields(from, r);
    if (held && !yielding && this.late(from, r)) return;
    // Before we first send, the roster we hold decided nothing (any present participant that holds the
    // link may have sent it, and its leader may never key us or commit): another one that lists us
    // replaces it, checked as a first roster, and what we took under the old one goes (§7.5a). Once
    // its leader keyed us, only a newer one does (a late copy of an older roster changes nothing).
    // After a yield, until keyed: a roster of another leader's replaces the one we yielded to; its own next ones chain.
    const replacing = this.yieldedUnkeyed && !!held && rosterLeader(r).participantId !== rosterLeader(held.roster).participantId;
    const tentative = o.epochs.sendEpoch === 0 || yielding || replacing;
    if (!yielding && tentative && held && r.epoch <= held.roster.epoch && o.epochs.installed(held.roster.epoch)) {
      return o.reject('STALE_EPOCH', `roster epoch ${r.epoch} is not after ${held.roster.epoch}, whose key we hold`, from);
    }
    // One without us is checked against ours, as always: a valid successor that drops us removes us.
    const head = tentative && rosterIndexOf(r, o.selfId) >= 0 ? null : held;
    const stuck = o.stuck();
    const result = this.verify(from, r, head, o.presence.departed, stuck, yielding);
    if (!result.ok && this.formerLeaderRemovals(from, r)) return;
    if (!result.ok) {
      this.leadsAnotherChain(from, r);
      // Before our first roster, rosters of epochs we are not part of are expected (they are broadcast).
      if (!head && result.error.code === 'NOT_IN_ROSTER') return;
      if (!yielding && rosterLeader(r).participantId === from && o.presence.joinedBefore(from) && rosterIndexOf(r, o.selfId) >= 0)
        this.foreign = { from, r };
      // A newer roster that does not chain to ours: we missed some. Ask our leader for them (it
      // answers with the chain, rate-limited); nothing else changes, since this one is unverified.
      if (result.error.code === 'ROSTER_CHAIN_BROKEN') {
        o.catchUp();
        const leader = head && expectedLeader(head.roster, o.presence.departed)?.participantId;
        if (!stuck && from === leader && rosterLeader(r).participantId === from) this.unchained = { from, r };
      }
      // Stopped, and our leader leads a chain of its own at or below our head (it took over without
      // the rosters we had): it starts an epoch above ours when asked, and that one grafts (§7.5a).
      // (A roster of our own chain, resent to catch us up, is not one.)
      const leader = head && expectedLeader(head.roster, o.presence.departed)?.participantId;
      const ours = o.epochs.roster(r.epoch)?.roster;
      const otherChain = !ours || !constantTimeEqual(ours.signature, r.signature);
      if (result.error.code === 'STALE_EPOCH' && stuck && otherChain && from === leader && rosterLeader(r).participantId === from)
        o.forked();
      return o.reject(result.error.code, result.error.message, from);
    }
    const { kind, verified } = result.value;
    if (kind === 'removed') return o.removed(verified.roster.excluded.includes(o.selfId) ? 'removed-by-leader' : 'dropped');
    // Replaced before we sent (only a tentative roster is ever checked without our head).
    if (yielding) o.presence.returned(from);
    if (held && !head) {
      o.epochs.restartChain();
      o.restarted();
      if (o.epochs.sendEpoch > 0) this.yieldedUnkeyed = true;
    }
    o.adopt(verified);
    o.learned(verified.roster.epoch, 'newer-roster');
    if (this.unchained && this.unchained.r.epoch <= verified.roster.epoch) this.unchained = null;
    const keys = this.unrostered;
    this.unrostered = null;
    if (keys && keys.k.epoch === verified.roster.epoch) this.keys(keys.from, keys.k);
  }

  /**
   * A chain we lead and nobody else acked yields to the chain of a participant the server listed
   * before us (§7.5a): its roster lists us and nobody we excluded, and is checked as a first
   * roster. Nobody sends under our keys but us, so leaving our chain splits no one off; join order
   * makes only one of two such leaders yield. A provisional chain (mayMerge) yields likewise, its
   * leader and each member on its own: the roster lists them all, so they all go.
   */
  private yields(from: string, r: Roster): boolean {
    const { o } = this;
    if (rosterLeader(r).participantId !== from || !o.presence.joinedBefore(from)) return false;
    if (!o.leadsAlone() && !this.mayMerge(from)) return false;
    if (rosterIndexOf(r, o.selfId) < 0 || r.members.some((m) => o.presence.excluded.has(m.participantId))) return false;
    // It takes in everyone of ours still here (they follow it as newcomers), so nobody is left behind;
    // but one its leader removed stays out (a removal on the older chain stands).
    const ours = o.epochs.head?.roster.members ?? [];
    const kept = (id: string) => !o.presence.isPresent(id) || rosterIndexOf(r, id) >= 0 || r.excluded.includes(id);
    return ours.every((m) => kept(m.participantId));
  }

  /**
   * Our head is provisional (its leader did not wait for everyone listed before it, roster.ts) and
   * `from` is one of those: listed before our leader, and not a member that acked our chain. Its
   * chain may be the older one the server kept from us (§7.5a, provisional chains). An insider can
   * use this to make us wait for keys it never sends: passOverYielded ends that, as for a lone leader.
   */
  private mayMerge(from: string): boolean {
    const { o } = this;
    const head = o.epochs.head?.roster;
    if (!head?.provisional) return false;
    const ourLeader = rosterLeader(head).participantId;
    if (from === ourLeader || (rosterIndexOf(head, from) >= 0 && !head.unacked.includes(from))) return false;
    return ourLeader === o.selfId || o.presence.listedBefore(from, ourLeader);
  }

  /** A provisional roster from a member of our head that leads it, signed by that member: tell our leader side. */
  private leadsAnotherChain(from: string, r: Roster): void {
    const { o } = this;
    const head = o.epochs.head?.roster;
    if (!head || !r.provisional || rosterLeader(r).participantId !== from || from === o.selfId) return;
    if (!o.leads()) return;
    const entry = head.members.find((m) => m.participantId === from);
    if (!entry || !o.budget.spender(from)() || !rosterSignedBy(r, entry.identityKey)) return;
    o.otherChain(
      from,
      r.members.map((m) => m.participantId).filter((id) => id !== from && id !== o.selfId),
    );
  }

  /** verifyRoster with what we know: our announcement, the announcements verified so far, presence, the sender's budget. */
  private verify(from: string, r: Roster, head: VerifiedRoster | null, departed: ReadonlySet<string>, graft = false, yielding = false) {
    const { o } = this;
    // A leader we yield to may be one we passed over: the server still lists it (joinedBefore).
    const isPresent = yielding ? (id: string) => o.presence.isPresent(id) || id === from : o.presence.isPresent;
    return verifyRoster(r, {
      meetingId: o.meetingId,
      instanceId: o.instanceId,
      from,
      self: o.self,
      head,
      departed,
      verifiedAnnouncements: o.verifiedAnnouncements,
      isPresent,
      spend: o.budget.spender(from),
      graft,
    });
  }

  /** Rosters formerLeaderRemovals kept from leaders still present, one per leader. */
  private readonly removalsHeld = new Map<string, Roster>();

  /** The server reports `id` gone: a roster it signed that we could not follow may now remove someone. */
  left(id: string): void {
    const held = this.removalsHeld.get(id);
    this.removalsHeld.delete(id);
    if (held) this.formerLeaderRemovals(id, held);
  }

  /**
   * A roster we cannot follow (another chain, or one we missed the start of), signed and sent by
   * a leader of a roster we took that the server has since reported gone, that removes or denies
   * someone we have not excluded: its leader removed them, and a removal outlives its leader
   * (§7.5a, late rosters). Only its signature is checked, against the identity key the roster we
   * took names; its exclusions become ours (or it removes us). True if it removed us.
   */
  private formerLeaderRemovals(from: string, r: Roster): boolean {
    const { o } = this;
    if (rosterLeader(r).participantId !== from || r.meetingId !== o.meetingId || r.instanceId !== o.instanceId) return false;
    const fresh = r.excluded.filter((id) => !o.presence.excluded.has(id));
    if (fresh.length === 0 || !o.presence.ledBefore(from)) return false;
    const key = o.presence.formerLeaderKey(from);
    if (!key) {
      // Still here (or only passed over by us): kept, newest only, and checked if the server reports it gone.
      const held = this.removalsHeld.get(from);
      if ((!held || held.epoch < r.epoch) && (this.removalsHeld.size < 8 || held)) this.removalsHeld.set(from, r);
      return false;
    }
    if (!o.budget.take(from) || !rosterSignedBy(r, key)) return false;
    if (fresh.includes(o.selfId)) {
      o.removed('removed-by-leader');
      return true;
    }
    o.lateExclusions(fresh);
    return false;
  }

  /**
   * A roster its leader signed before it left, held back by the server until its successor took
   * over (late-roster.ts): verified against the roster it follows, its exclusions become ours (or
   * it removes us). True if it was one (handled), false to check it as usual.
   */
  private late(from: string, r: Roster): boolean {
    const { o } = this;
    const parent = o.epochs.roster(r.epoch - 1);
    const departed = parent && lateRoster(r, from, parent, o.epochs.roster(r.epoch), o.presence.departed);
    if (!parent || !departed) return false;
    const result = this.verify(from, r, parent, departed);
    if (!result.ok) {
      o.reject(result.error.code, result.error.message, from);
      return true;
    }
    const { kind, verified } = result.value;
    // Only a removal counts: a roster that just does not list us (its leader was told we left) is
    // not the one we follow.
    if (kind === 'removed' && verified.roster.excluded.includes(o.selfId)) o.removed('removed-by-leader');
    else o.lateExclusions(verified.roster.excluded);
    return true;
  }

  /**
   * A roster delta (§4.2a): the full roster is rebuilt from our head and then
   * checked exactly as one sent in full. Without the head it follows (a
   * newcomer, or a member that missed a roster) we cannot: a newcomer gets
   * the full roster addressed to it; a member behind asks our leader for it.
   */
  delta(from: string, d: RosterDelta): void {
    const { o } = this;
    const held = o.epochs.head;
    if (!held) return; // newcomers get the full roster, addressed to them
    if (constantTimeEqual(d.hash, held.hash)) {
      // Sent to us in full already; a copy relayed as from someone else is still refused as such.
      const leader = rosterLeader(held.roster).participantId;
      if (from !== leader)
        return o.reject('NOT_LEADER', `roster delta ${d.epoch} relayed from '${from}', not its leader '${leader}'`, from);
      return;
    }
    // One that follows an older roster of ours may be a late roster of a leader that left (§7.5a).
    const parent = d.epoch <= held.roster.epoch ? o.epochs.roster(d.epoch - 1) : undefined;
    const rebuilt = applyRosterDelta(parent && constantTimeEqual(d.prevHash, parent.hash) ? parent : held, d);
    if (!rebuilt.ok) {
      if (rebuilt.error.code === 'ROSTER_CHAIN_BROKEN' && d.epoch > held.roster.epoch) o.catchUp();
      // We lead alone and someone listed before us leads a chain of its own: its full roster may list
      // us, and we would yield to it (a delta only comes to its continuing members).
      if (rebuilt.error.code === 'ROSTER_CHAIN_BROKEN' && o.presence.joinedBefore(from)) {
        if (o.leadsAlone() || this.mayMerge(from)) o.askFirstRoster(from);
        else this.foreign = { from };
      }
      return o.reject(rebuilt.error.code, rebuilt.error.message, from);
    }
    this.roster(from, rebuilt.value);
  }

  keys(from: string, k: KeysMessage): void {
    const { o } = this;
    if (!o.epochs.head) return; // not our epoch yet: broadcast key messages reach newcomers too
    const opened = openKeysMessage(k, {
      meetingId: o.meetingId,
      instanceId: o.instanceId,
      selfId: o.selfId,
      from,
      roster: o.epochs.roster(k.epoch),
      lastEpoch: o.epochs.keyEpoch,
      dhFor: o.dhKeys.find,
      exportSecret: o.exportSecret,
      acceptableEchoes: o.nonces.acceptable(),
      spend: o.budget.spender(from),
      departed: o.presence.departed,
    });
    if (!opened.ok) {
      // Stopped, and our leader's newest epoch is no newer than a key we took on another chain (or
      // under a first roster we replaced): it starts one above ours when asked (§7.5a).
      const leader = expectedLeader(o.epochs.head.roster, o.presence.departed)?.participantId;
      const ours = o.epochs.roster(k.epoch);
      const otherChain = !ours || !constantTimeEqual(ours.hash, k.rosterHash);
      if (opened.error.code === 'STALE_EPOCH' && o.stuck() && otherChain && from === leader && k.leaderId === from) o.forked();
      // Its roster did not graft (yet): keep the key message for when it does.
      if (opened.error.code === 'UNKNOWN_EPOCH' && k.epoch === this.unchained?.r.epoch && from === this.unchained.from)
        this.unrostered = { from, k };
      return o.reject(opened.error.code, opened.error.message, from);
    }
    const roster = opened.value.roster;
    o.exportSecret(`epoch ${k.epoch} key`, opened.value.epochKey);
    o.epochs.keyEpoch = k.epoch;
    o.nonces.consume(opened.value.echo);
    for (const e of k.entries) o.presence.echoes.set(e.to, e.echo);
    o.epochs.install(roster, opened.value.epochKey);
    this.yieldedUnkeyed = false;
    const { meetingId, instanceId, selfId: participantId } = o;
    const nonce = o.nonces.issue();
    // Keys made before the one this message used are erased; the leader seals the next epoch to `next`.
    const next = o.dhKeys.used(opened.value.dhKey);
    const ack = createAck({ meetingId, instanceId, epoch: k.epoch, participantId, rosterHash: roster.hash, nonce, next }, o.identity);
    o.send(k.leaderId, { type: 'ack', ack });
    o.installed(k.epoch);
  }

  commit(from: string, c: Commit): void {
    const { o } = this;
    const head = o.epochs.head;
    if (!head) return; // a commit for an epoch before ours
    if (c.epoch === o.epochs.sendEpoch && o.committedEarly(c.epoch)) return; // we switched without waiting for it
    const checked = verifyCommit(c, {
      meetingId: o.meetingId,
      instanceId: o.instanceId,
      from,
      sendEpoch: o.epochs.sendEpoch,
      roster: o.epochs.installed(c.epoch) ? o.epochs.roster(c.epoch) : undefined,
    });
    if (!checked.ok) {
      // Our leader (or the newer roster's) committed an epoch we have no key for: everyone else moved on.
      const leader = o.epochs.roster(c.epoch)?.roster ?? null;
      const expected = leader ? rosterLeader(leader) : expectedLeader(head.roster, o.presence.departed);
      if (checked.error.code === 'UNKNOWN_EPOCH' && expected?.participantId === from) o.learned(c.epoch, 'unknown-commit');
      return o.reject(checked.error.code, checked.error.message, from);
    }
    o.switchTo(c.epoch);
  }

  admission(from: string, a: Admission): void {
    const { o } = this;
    if (o.epochs.head) {
      // We are a member: a decision about us is stale (we were admitted), one
      // about a newcomer counts only from our leader; we keep its denials.
      if (a.to === o.selfId) return o.reject('STALE_EPOCH', 'admission message about us, who are already a member', from);
      const { meetingId, instanceId } = o;
      const roster = o.epochs.roster(a.epoch);
      const checked = verifyAdmissionForMember(a, { meetingId, instanceId, from, roster, departed: o.presence.departed });
      if (!checked.ok) return o.reject(checked.error.code, checked.error.message, from);
      if (a.decision === 'deny') o.exclude(a.to);
      return;
    }
    if (a.to !== o.selfId) return; // about another newcomer: broadcast denials reach us too
    if (!o.presence.isPresent(from)) {
      return o.reject('UNKNOWN_PARTICIPANT', `admission from '${from}', whom the server does not list`, from);
    }
    const checked = verifyAdmissionForNewcomer(a, { meetingId: o.meetingId, instanceId: o.instanceId, from, self: o.self });
    if (!checked.ok) return o.reject(checked.error.code, checked.error.message, from);
    // Only a hint for the UI: we cannot know this key leads. Nobody keys us either way.
    o.decided(a.decision, { participantId: from, fingerprint: fingerprint(a.leaderKey) });
  }
}
