// The signed roster: for each epoch the leader lists every member (with the
// announcement that proves its keys), in join order, chained to the previous
// roster by hash. The first member is the leader; leadership is never taken
// from the server's word. The roster also carries the meeting's admission
// policy (locked or not, and who was removed or denied), so the policy is
// exactly as authentic, fresh and inherited on failover as membership itself.

import { verifyAnnouncement, type Announcement, type MeetingContext, type SpendCheck, type VerifiedAnnouncements } from './announcement.ts';
import { CONTEXT, E2EE_VERSION, LIMITS, SIZE } from './constants.ts';
import { constantTimeEqual } from '../bytes.ts';
import { transcript, type Field } from './encoding.ts';
import { fail, ok, type Result } from './errors.ts';
import type { IdentityKeyPair } from './identity.ts';
import { hash, sign, verify } from './primitives.ts';

/** An announcement without the meeting fields, which the roster carries once. */
export interface RosterMember {
  participantId: string;
  name: string;
  identityKey: Uint8Array;
  dhKey: Uint8Array;
  nonce: Uint8Array;
  signature: Uint8Array;
}

export interface Roster {
  meetingId: string;
  instanceId: string;
  epoch: number;
  /** Hash of the previous roster; GENESIS_HASH for the first one of a chain. */
  prevHash: Uint8Array;
  /** While locked, newcomers wait in the leader's lobby until admitted. */
  locked: boolean;
  /** Participant IDs the leader removed or denied: no later roster of this chain may list them. */
  excluded: string[];
  /**
   * Members that had acked no epoch of the leader's chain when it signed (newcomers, and anyone
   * silent since): the next leader is never one of them while anyone else is left (expectedLeader),
   * so a participant that never acts cannot stall a failover by being next in line.
   */
  unacked: string[];
  /**
   * The leader started or leads this chain while someone the server listed before it, present
   * and holding the link, is not a member that acked it (§5, silent participants ahead): an older
   * chain may exist that the server kept from us. Members of a provisional chain move to the chain
   * of such a participant once its roster lists them all (§7.5a, provisional chains).
   */
  provisional: boolean;
  members: RosterMember[];
  /** The leader's (members[0]) signature over the roster hash. */
  signature: Uint8Array;
}

export type UnsignedRoster = Omit<Roster, 'signature'>;
/** Policy fields default to an unlocked meeting that excluded nobody, with every member counted as acked. */
export type RosterFields = Omit<UnsignedRoster, 'locked' | 'excluded' | 'unacked' | 'provisional'> &
  Partial<Pick<UnsignedRoster, 'locked' | 'excluded' | 'unacked' | 'provisional'>>;

export interface VerifiedRoster {
  roster: Roster;
  hash: Uint8Array;
}

export const GENESIS_HASH = new Uint8Array(SIZE.hash);

export function memberFromAnnouncement(a: Announcement): RosterMember {
  return {
    participantId: a.participantId,
    name: a.name,
    identityKey: a.identityKey,
    dhKey: a.dhKey,
    nonce: a.nonce,
    signature: a.signature,
  };
}

export function memberAnnouncement(ctx: MeetingContext, m: RosterMember): Announcement {
  return { meetingId: ctx.meetingId, instanceId: ctx.instanceId, ...m };
}

export function sameMember(a: RosterMember, b: RosterMember): boolean {
  return (
    a.participantId === b.participantId &&
    a.name === b.name &&
    constantTimeEqual(a.identityKey, b.identityKey) &&
    constantTimeEqual(a.dhKey, b.dhKey) &&
    constantTimeEqual(a.nonce, b.nonce) &&
    constantTimeEqual(a.signature, b.signature)
  );
}

export function rosterHash(r: UnsignedRoster): Uint8Array {
  const fields: Field[] = [CONTEXT.rosterHash, { u32: E2EE_VERSION }, r.meetingId, r.instanceId, { u64: r.epoch }, r.prevHash];
  fields.push({ u32: r.locked ? 1 : 0 }, { u32: r.excluded.length }, ...r.excluded);
  fields.push({ u32: r.unacked.length }, ...r.unacked);
  fields.push({ u32: r.provisional ? 1 : 0 });
  fields.push({ u32: r.members.length });
  for (const m of r.members) fields.push(m.participantId, m.name, m.identityKey, m.dhKey, m.nonce, m.signature);
  return hash(transcript(...fields));
}

function signedBytes(rosterDigest: Uint8Array): Uint8Array {
  return transcript(CONTEXT.roster, rosterDigest);
}

/** Signs a roster as its leader, who must be members[0]. */
export function createRoster(fields: RosterFields, leader: IdentityKeyPair): VerifiedRoster {
  const unsigned: UnsignedRoster = {
    ...fields,
    locked: fields.locked ?? false,
    excluded: fields.excluded ?? [],
    unacked: fields.unacked ?? [],
    provisional: fields.provisional ?? false,
  };
  const digest = rosterHash(unsigned);
  return { roster: { ...unsigned, signature: sign(signedBytes(digest), leader.privateKey) }, hash: digest };
}

/** Whether `r` is signed by its leader, whose identity key is `identityKey` (only the signature: no chain or entry check). */
export function rosterSignedBy(r: Roster, identityKey: Uint8Array): boolean {
  return constantTimeEqual(rosterLeader(r).identityKey, identityKey) && verify(r.signature, signedBytes(rosterHash(r)), identityKey);
}

export function rosterLeader(r: Roster): RosterMember {
  const leader = r.members[0];
  if (!leader) throw new Error('roster without members'); // the codec never yields one
  return leader;
}

export function rosterIndexOf(r: Roster, participantId: string): number {
  return r.members.findIndex((m) => m.participantId === participantId);
}

/**
 * Who may lead the epoch after `head`: its first member the server has not
 * reported gone, skipping those the head lists as unacked while anyone else
 * is left. Removal only shrinks the group, so following the server here
 * cannot add a listener (see threat-model.md).
 */
export function expectedLeader(head: Roster, departed: ReadonlySet<string>): RosterMember | undefined {
  const here = head.members.filter((m) => !departed.has(m.participantId));
  return here.find((m) => !head.unacked.includes(m.participantId)) ?? here[0];
}

export interface RosterCheck extends MeetingContext {
  /** Relay sender of the roster message. */
  from: string;
  /** Our own current announcement; the roster must carry it unchanged. */
  self: Announcement;
  /** Our last verified roster, or null before the first one. */
  head: VerifiedRoster | null;
  /** Participants the server reported as gone. */
  departed: ReadonlySet<string>;
  /** Announcements whose signatures this receiver already verified (members new to this roster are looked up here). */
  verifiedAnnouncements?: VerifiedAnnouncements;
  /** Whether the server lists this participant as present; a first roster must come from someone it does. */
  isPresent?: (participantId: string) => boolean;
  /** Asked before each signature check (the roster's, then each new entry's), charged to the relay sender. */
  spend?: SpendCheck;
  /**
   * We are stuck (not sending under our head, §7.5a): a newer roster that does
   * not chain to our head may replace it, if our expected leader signed and
   * sent it itself and it keeps every continuing member's entry.
   */
  graft?: boolean;
}

export type RosterOutcome =
  | { kind: 'member'; verified: VerifiedRoster; index: number }
  /** A valid successor roster that no longer lists us. */
  | { kind: 'removed'; verified: VerifiedRoster };

/**
 * Nobody excluded may be a member: not by this roster (inconsistent) and not
 * by the previous one (a removal or denial that a later leader, or a server
 * replaying an announcement, tries to undo).
 */
function checkExclusions(r: Roster, head: Roster | undefined): Result<void> {
  const excluded = new Set([...r.excluded, ...(head?.excluded ?? [])]);
  const listed = r.members.find((m) => excluded.has(m.participantId));
  if (listed) return fail('ROSTER_REMOVED_MEMBER', `roster ${r.epoch} lists '${listed.participantId}', who was removed or denied`);
  return ok(undefined);
}

/**
 * Continuing members keep their relative order and entries, and come before
 * newcomers; members `prev` lists as unacked may move (a successor that
 * skipped them puts itself first). Yields the continuing members' IDs.
 */
function checkOrder(prev: Roster, next: Roster): Result<Set<string>> {
  const prevById = new Map(prev.members.map((m, i) => [m.participantId, { m, i }]));
  const continuing = new Set<string>();
  let lastIndex = -1;
  let newcomersStarted = false;
  for (const m of next.members) {
    const before = prevById.get(m.participantId);
    if (!before) {
      newcomersStarted = true;
      continue;
    }
    if (!sameMember(before.m, m)) return fail('ROSTER_ORDER', `member '${m.participantId}' changed its keys`);
    continuing.add(m.participantId);
    if (prev.unacked.includes(m.participantId)) continue;
    if (newcomersStarted) return fail('ROSTER_ORDER', `continuing member '${m.participantId}' placed after a newcomer`);
    if (before.i < lastIndex) return fail('ROSTER_ORDER', `continuing member '${m.participantId}' moved in join order`);
    lastIndex = before.i;
  }
  return ok(continuing);
}

/**
 * A graft (§7.5a) has no common roster to order against: continuing members
 * must still carry the entries our head verified (a leader cannot swap a
 * member's keys this way), in any order. Yields the continuing members' IDs.
 */
function keptEntries(prev: Roster, next: Roster): Result<Set<string>> {
  const prevById = new Map(prev.members.map((m) => [m.participantId, m]));
  const continuing = new Set<string>();
  for (const m of next.members) {
    const before = prevById.get(m.participantId);
    if (!before) continue;
    if (!sameMember(before, m)) return fail('ROSTER_ORDER', `member '${m.participantId}' changed its keys`);
    continuing.add(m.participantId);
  }
  return ok(continuing);
}

/**
 * Every check that costs no signature comes first (sender, size, chain,
 * order, exclusions, whether we are listed), so a roster meant to waste our
 * CPU is refused before any: see protocol.md §4.2 for the order.
 */
export function verifyRoster(r: Roster, check: RosterCheck): Result<RosterOutcome> {
  if (r.meetingId !== check.meetingId) return fail('WRONG_MEETING', `roster for meeting '${r.meetingId}'`);
  if (r.instanceId !== check.instanceId) return fail('WRONG_INSTANCE', 'roster for another instance of this meeting');
  const leader = rosterLeader(r);
  // A roster comes from its leader, or from the leader our head names now: it relays the ones we
  // missed when we ask for a resend (its predecessor may have signed them). Those must still chain
  // to our head and be signed by a leader of it (checked below).
  const relayer = check.head && expectedLeader(check.head.roster, check.departed)?.participantId;
  if (leader.participantId !== check.from && relayer !== check.from)
    return fail('NOT_LEADER', `roster relayed from '${check.from}' names '${leader.participantId}' as leader`);
  // The codec already bounds both lists; this keeps the bound with the checks for in-memory callers.
  if (r.members.length > LIMITS.maxMembers || r.excluded.length > LIMITS.maxMembers) {
    return fail('TOO_LARGE', `roster ${r.epoch} lists more than ${LIMITS.maxMembers} members or exclusions`);
  }

  const head = check.head;
  let continuing = new Set<string>();
  let grafted = false;
  if (head) {
    if (r.epoch <= head.roster.epoch) return fail('STALE_EPOCH', `roster epoch ${r.epoch} is not after ${head.roster.epoch}`);
    const expected = expectedLeader(head.roster, check.departed);
    if (!constantTimeEqual(r.prevHash, head.hash)) {
      const graft = check.graft && expected && check.from === expected.participantId && sameMember(leader, expected);
      if (!graft) return fail('ROSTER_CHAIN_BROKEN', `roster ${r.epoch} does not chain to roster ${head.roster.epoch}`);
      const kept = keptEntries(head.roster, r);
      if (!kept.ok) return kept;
      continuing = kept.value;
      grafted = true;
    }
    // Relayed to catch us up, a roster may come from a leader that has left since: one ranked
    // before the leader we expect now, which led when it signed (the chain check placed it).
    const rank = (id: string | undefined) => head.roster.members.findIndex((m) => m.participantId === id);
    const earlierLeader =
      leader.participantId !== check.from &&
      check.departed.has(leader.participantId) &&
      rank(leader.participantId) >= 0 &&
      rank(leader.participantId) < rank(expected?.participantId);
    if (leader.participantId !== expected?.participantId && !earlierLeader) {
      return fail(
        'NOT_LEADER',
        `'${leader.participantId}' is not the leader after roster ${head.roster.epoch} (expected '${expected?.participantId ?? 'nobody'}')`,
      );
    }
    if (!grafted) {
      const order = checkOrder(head.roster, r);
      if (!order.ok) return order;
      continuing = order.value;
    }
  } else if (check.isPresent && !check.isPresent(leader.participantId)) {
    // With a head, the expected leader is a present member by construction.
    return fail('UNKNOWN_PARTICIPANT', `roster from '${leader.participantId}', whom the server does not list as present`);
  }
  const exclusions = checkExclusions(r, head?.roster);
  if (!exclusions.ok) return exclusions;
  const stray = r.unacked.find((id) => rosterIndexOf(r, id) < 0);
  if (stray) return fail('MALFORMED', `roster ${r.epoch} lists '${stray}' as unacked, who is not a member`);
  const index = rosterIndexOf(r, check.self.participantId);
  // Without a head, a roster that does not list us is none of our business (and costs no signature check).
  if (index < 0 && !head) return fail('NOT_IN_ROSTER', `roster ${r.epoch} does not list us`);

  const overBudget = (): Result<never> => fail('RATE_LIMITED', `too many signature checks for '${check.from}': roster ${r.epoch} dropped`);
  if (check.spend && !check.spend()) return overBudget();
  const digest = rosterHash(r);
  if (!verify(r.signature, signedBytes(digest), leader.identityKey)) return fail('BAD_SIGNATURE', `roster ${r.epoch} signature is invalid`);

  // Entries carried over unchanged (checkOrder compared them) were verified with an earlier roster.
  const ctx = { meetingId: check.meetingId, instanceId: check.instanceId, ...(check.spend ? { spend: check.spend } : {}) };
  for (const m of r.members) {
    if (continuing.has(m.participantId)) continue;
    const checked = verifyAnnouncement(memberAnnouncement(r, m), ctx, check.verifiedAnnouncements);
    if (!checked.ok && checked.error.code === 'RATE_LIMITED') return overBudget();
    if (!checked.ok)
      return fail('ROSTER_BAD_ANNOUNCEMENT', `member '${m.participantId}': ${checked.error.message} (${checked.error.code})`);
  }

  const verified = { roster: r, hash: digest };
  // A valid successor without us means we were removed (only the leader's signature can say so).
  if (index < 0) return ok({ kind: 'removed', verified });
  const mine = r.members[index];
  if (!mine || !sameMember(mine, memberFromAnnouncement(check.self)))
    return fail('ROSTER_SELF_MISMATCH', `roster ${r.epoch} carries keys for us that we did not announce`);
  return ok({ kind: 'member', verified, index });
}
