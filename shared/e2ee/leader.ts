// The leader's side of the protocol as pure state transitions: each function
// takes the leader state, what the rest of the agent knows (LeaderContext) and
// the time, and returns the next state and what to do, in order (LeaderStep).
// No timers, sends or events happen here: a step asks for them (`arm`,
// `send`, `lobby`, ...) and leader-runner.ts carries them out, so these
// functions are tested with explicit times and no clock. The only calls out
// are the injected ones in the context: randomness (epoch keys and each key
// message's sender key), the members' acked X25519 keys and the test-only
// secret hook.
//
// Batching is leading-edge: an isolated change starts its epoch at once (on
// the next turn, so notices arriving together still share it); changes within
// batchMs of the last epoch wait out the rest of the window, and changes while
// an epoch is in flight go into the next one after its commit. So a lone join
// or leave pays no batching delay, and churn still yields at most one epoch
// per window.

import { admissible, createAdmission, lobbyWaiting, type LobbyInput } from './admission.ts';
import type { Announcement } from './announcement.ts';
import { createCommit, type Commit, type CommitReason } from './commit.ts';
import { constantTimeEqual } from '../bytes.ts';
import { LIMITS, SIZE } from './constants.ts';
import { checkDhPublicKey } from './dh-key.ts';
import type { E2eeErrorCode } from './errors.ts';
import type { AgentTiming, LobbyEntry, LobbyEvent } from './events.ts';
import type { IdentityKeyPair } from './identity.ts';
import { sealKeyMessages, type KeysMessage } from './key-message.ts';
import { planMembers, sameMembers } from './membership.ts';
import type { RandomBytes } from './primitives.ts';
import { rosterDelta } from './roster-delta.ts';
import { createRoster, GENESIS_HASH, type Roster, type RosterMember, type VerifiedRoster } from './roster.ts';
import { fingerprint } from './security-code.ts';
import { without } from './id-sets.ts';
import type { WireMessage } from './wire.ts';

export interface PendingEpoch {
  readonly epoch: number;
  readonly roster: VerifiedRoster;
  /** Present recipients whose ack has not arrived yet. */
  readonly awaiting: ReadonlySet<string>;
  /** When we commit without the missing acks (agent clock). */
  readonly commitAt: number;
}

/** What we sent for our newest epoch, kept to answer resend requests (the epoch key itself is erased). */
export interface SentEpoch {
  readonly epoch: number;
  readonly roster: Roster;
  /** Each member's key message (its own entry alone); empty for a roster with only us in it. */
  readonly keys: ReadonlyMap<string, KeysMessage>;
  /** Null until committed. */
  readonly commit: Commit | null;
  /** Members whose ack of this epoch we verified: they hold its key on our chain. */
  readonly acked: ReadonlySet<string>;
}

export interface LeaderState {
  /** Membership or lock changed since the last epoch started. */
  readonly dirty: boolean;
  /** When the batch window closes and the next epoch starts (agent clock); null if not scheduled. */
  readonly flushAt: number | null;
  /** The epoch in flight: sent, not committed yet. */
  readonly pending: PendingEpoch | null;
  /** When the last epoch was started; -Infinity before the first. */
  readonly lastFlushAt: number;
  /** The lock we enforce now; the group sees it in our next roster. */
  readonly locked: boolean;
  /** Admitted from the lobby, to be added with the next epoch. */
  readonly admitted: ReadonlySet<string>;
  /** Newcomers we already told to wait. */
  readonly notified: ReadonlySet<string>;
  /** Last lobby event emitted, to emit only changes. */
  readonly lobbyKey: string | null;
  /** Participants we could not seal a key to and already reported (each is reported once). */
  readonly leftOut: ReadonlySet<string>;
  /** Our newest epoch as sent (for resends); null until our first. */
  readonly sent: SentEpoch | null;
  /** When we last answered each member's resend request (members of `sent` only). */
  readonly resentAt: ReadonlyMap<string, number>;
  /** Start a new epoch even if membership and lock stay the same (a new meeting link rides on it). */
  readonly rotate: boolean;
  /**
   * Members whose ack did not come before an epoch's commit timeout, and none
   * since: the next epochs do not wait for them (a participant that never acks,
   * such as one an insider runs, would cost every change the whole timeout).
   */
  readonly unresponsive: ReadonlySet<string>;
  /**
   * Members that acked an epoch of ours, or that the roster we took over from
   * did not list as unacked: the others go in our rosters' `unacked` list, so
   * they are never next in line while anyone else is (§5).
   */
  readonly acking: ReadonlySet<string>;
  /**
   * The next epoch must be above this one: a member of ours holds a key for
   * an epoch of another chain (a fork, made while the server split us) and
   * only takes a roster newer than its own (§7.5a).
   */
  readonly floor: number;
  /**
   * A successor's first epoch waits until this time (at most) for every present
   * member's newest liveness nonce: each sends it in a resend request when its
   * leader leaves, since key messages no longer show it others' entries (§4.3).
   */
  readonly echoWaitUntil: number | null;
}

/** How long a successor's first epoch waits for members' nonces beyond its batch window. */
export const ECHO_WAIT_MS = 500;

/** What the rest of the agent knows, read (never changed) by a step, plus the signing keys and injected randomness. */
export interface LeaderContext {
  meetingId: string;
  instanceId: string;
  selfId: string;
  self: Announcement;
  identity: IdentityKeyPair;
  random: RandomBytes;
  timing: Pick<AgentTiming, 'batchMs' | 'commitTimeoutMs' | 'resendMinIntervalMs'>;
  /** Our newest verified roster, or null before the first (a new chain). */
  head: VerifiedRoster | null;
  /** Verified announcements of present participants not in the head roster, oldest first. */
  candidates: ReadonlyMap<string, Announcement>;
  isPresent: (participantId: string) => boolean;
  /** Removed or denied: never added again. */
  excluded: ReadonlySet<string>;
  /** IDs the server said left. */
  departed: ReadonlySet<string>;
  /** Those listed before us that could lead an older chain (Presence.ahead): our chain is provisional until they all ack it. */
  ahead?: () => readonly string[];
  /** Latest liveness nonce we know per participant, echoed in its key entry. */
  echoes: ReadonlyMap<string, Uint8Array>;
  /** Whether the echo we know for a participant came from its own ack or resend request (not from a roster or announcement). */
  freshEcho?: (participantId: string) => boolean;
  /** Highest epoch of a roster we verified: a new chain continues after it. Never taken from unverified messages. */
  epochHint: number;
  /**
   * The X25519 key a member's last verified ack named as `next`: its next
   * epoch is sealed to it. Undefined (no ack with one reached us): the key in
   * its announcement, as the roster carries it.
   */
  dhKeyFor: (participantId: string) => Uint8Array | undefined;
  /** A verified roster of ours by epoch, if we still keep it (for a member catching up on the chain). */
  rosterAt: (epoch: number) => VerifiedRoster | undefined;
  /** Test builds only: see AgentOptions.onSecretForTest. */
  exportSecret: (label: string, bytes: Uint8Array) => void;
}

export type LeaderTimer = 'flush' | 'commit';

export type LeaderOutput =
  | { type: 'send'; to: string | null; message: WireMessage }
  | { type: 'lobby'; event: LobbyEvent }
  /** Our new roster: remember it as the head (before the sends that follow). */
  | { type: 'adopt'; roster: VerifiedRoster }
  /** Install the new epoch's key (consumed: it is erased after the derivation). */
  | { type: 'install'; roster: VerifiedRoster; epochKey: Uint8Array }
  /** The epoch is committed: send with it. */
  | { type: 'switch'; epoch: number }
  /** Start a timer that calls flush (or commit with 'timeout') at `at`. */
  | { type: 'arm'; timer: LeaderTimer; at: number }
  | { type: 'disarm'; timer: LeaderTimer }
  /** Changes waited for the committed epoch: call flush on the next turn of the input queue. */
  | { type: 'flush-next' }
  /** Something the UI should show: a member left out of the epoch, or an epoch we could not start. */
  | { type: 'error'; code: E2eeErrorCode; message: string; from?: string };

export interface LeaderStep {
  state: LeaderState;
  out: LeaderOutput[];
}

const still = (state: LeaderState): LeaderStep => ({ state, out: [] });

/** Runs `next` on the state `step` left, keeping both steps' outputs in order. */
function andThen(step: LeaderStep, next: (s: LeaderState) => LeaderStep): LeaderStep {
  const after = next(step.state);
  return { state: after.state, out: [...step.out, ...after.out] };
}

function lobbyInput(state: LeaderState, ctx: LeaderContext): LobbyInput {
  const { candidates, isPresent, excluded } = ctx;
  return { locked: state.locked, candidates: candidates.values(), isPresent, excluded, admitted: state.admitted };
}

/** Who waits in the lobby now, oldest first. */
export function waitingIn(state: LeaderState, ctx: LeaderContext): Announcement[] {
  return lobbyWaiting(lobbyInput(state, ctx));
}

export function lobbyEntry(a: Announcement): LobbyEntry {
  return { participantId: a.participantId, name: a.name, fingerprint: fingerprint(a.identityKey) };
}

/** The state of a leader that has just taken over: changes pending (its first epoch is due), nothing in flight. */
export function initialState(head: VerifiedRoster | null): LeaderState {
  // A successor inherits the lock from the roster everyone verified; a new chain starts unlocked.
  return {
    dirty: true,
    flushAt: null,
    pending: null,
    lastFlushAt: -Infinity,
    locked: head?.roster.locked ?? false,
    admitted: new Set(),
    notified: new Set(),
    lobbyKey: null,
    leftOut: new Set(),
    sent: null,
    resentAt: new Map(),
    rotate: false,
    unresponsive: new Set(),
    acking: new Set(head?.roster.members.map((m) => m.participantId).filter((id) => !head.roster.unacked.includes(id)) ?? []),
    floor: 0,
    echoWaitUntil: null,
  };
}

/** We lead from now on (first in a new chain, or the successor of a leader that left). */
export function becomeLeader(ctx: LeaderContext): LeaderStep {
  return refreshLobby(initialState(ctx.head), ctx);
}

/** Tells new lobby arrivals to wait, and emits the lobby if it changed. */
export function refreshLobby(state: LeaderState, ctx: LeaderContext): LeaderStep {
  const waiting = waitingIn(state, ctx);
  const head = ctx.head;
  const notified = new Set(state.notified);
  const out: LeaderOutput[] = [];
  for (const a of waiting) {
    if (!head || notified.has(a.participantId)) continue;
    notified.add(a.participantId);
    const admission = createAdmission({ roster: head, leaderId: ctx.selfId, newcomer: a, decision: 'wait' }, ctx.identity);
    out.push({ type: 'send', to: a.participantId, message: { type: 'admission', admission } });
  }
  const lobbyKey = `${state.locked}:${waiting.map((a) => a.participantId).join()}`;
  if (lobbyKey === state.lobbyKey) return { state: { ...state, notified }, out };
  out.push({ type: 'lobby', event: { locked: state.locked, waiting: waiting.map(lobbyEntry) } });
  return { state: { ...state, notified, lobbyKey }, out };
}

/** Membership or lock changed: schedule the next epoch (see the batching rule above). */
export function markDirty(state: LeaderState, ctx: LeaderContext, now: number, fullWindow = false): LeaderStep {
  const dirty = { ...state, dirty: true };
  if (state.flushAt !== null || state.pending) return still(dirty);
  const wait = fullWindow ? ctx.timing.batchMs : Math.max(0, state.lastFlushAt + ctx.timing.batchMs - now);
  const at = now + wait;
  const echoWaitUntil = fullWindow && !state.sent ? at + ECHO_WAIT_MS : state.echoWaitUntil;
  return { state: { ...dirty, flushAt: at, echoWaitUntil }, out: [{ type: 'arm', timer: 'flush', at }] };
}

/** The X25519 key we seal `m`'s next epoch to: its acked `next`, else its announced key. */
function currentDhKey(m: RosterMember, ctx: LeaderContext): Uint8Array {
  return ctx.dhKeyFor(m.participantId) ?? m.dhKey;
}

/**
 * The planned recipients we cannot seal a key to: their key is refused
 * (non-canonical or of small order). Announcements and acks are checked on
 * receipt, so this is a second line; a key that passes gives X25519 a
 * non-zero shared secret with any sender key.
 */
function unsealableOf(recipients: readonly RosterMember[], ctx: LeaderContext): RosterMember[] {
  return recipients.filter((m) => !checkDhPublicKey(currentDhKey(m, ctx)).ok);
}

/**
 * The batch window closed: starts the next epoch if membership changed and no
 * epoch is in flight. The whole epoch (roster, key, every key entry) is built
 * and checked before any of it is adopted, installed or sent: if it cannot
 * be, the leader's state is as before (only the window is closed; the next
 * change retries) and the step reports why.
 */
export function flush(state: LeaderState, ctx: LeaderContext, now: number): LeaderStep {
  const out: LeaderOutput[] = state.flushAt !== null ? [{ type: 'disarm', timer: 'flush' }] : [];
  const closed = { ...state, flushAt: null };
  if (state.pending || !state.dirty) return { state: closed, out };
  const head = ctx.head;
  // A successor's first epoch: wait (briefly) for the nonces of members it never heard from.
  const unheard = (m: RosterMember) =>
    m.participantId !== ctx.selfId && ctx.isPresent(m.participantId) && !ctx.freshEcho?.(m.participantId);
  if (state.echoWaitUntil !== null && now < state.echoWaitUntil && ctx.freshEcho && head?.roster.members.some(unheard)) {
    const at = Math.min(state.echoWaitUntil, now + 50);
    return { state: { ...closed, flushAt: at }, out: [...out, { type: 'arm', timer: 'flush', at }] };
  }
  const next = { ...closed, dirty: false, lastFlushAt: now, rotate: false, echoWaitUntil: null };

  const planned = planMembers({
    selfId: ctx.selfId,
    self: ctx.self,
    head: head?.roster ?? null,
    isPresent: ctx.isPresent,
    candidates: admissible(lobbyInput(next, ctx)),
    excluded: ctx.excluded,
  });
  // A member we cannot seal to is left out (and reported once) rather than stalling everyone else.
  const unsealable = unsealableOf(planned.slice(1), ctx);
  const leftOut = new Set(state.leftOut);
  for (const m of unsealable) {
    if (leftOut.has(m.participantId)) continue;
    leftOut.add(m.participantId);
    const message = `left '${m.participantId}' out of the next epoch: cannot seal a key to its X25519 key`;
    out.push({ type: 'error', code: 'BAD_PUBLIC_KEY', message, from: m.participantId });
  }
  const members = planned.filter((m) => !unsealable.includes(m));
  if (head && !state.rotate && sameMembers(head.roster.members, members) && head.roster.locked === next.locked) {
    return { state: { ...next, leftOut }, out };
  }
  // A new chain continues after the highest verified epoch we know (the hint); never past the KID's 48 bits.
  const epoch = Math.max(head?.roster.epoch ?? ctx.epochHint, state.floor) + 1;
  if (epoch > LIMITS.maxEpoch) {
    const message = `epoch ${epoch - 1} is the last one (2^48 - 1): no further rotation, restart the meeting`;
    out.push({ type: 'error', code: 'EPOCH_EXHAUSTED', message });
    return { state: { ...closed, leftOut }, out };
  }
  // IDs the server reported gone are never trusted again anyway; the rest stay excluded (bounded).
  const excluded = [...ctx.excluded].filter((id) => !ctx.departed.has(id)).slice(-LIMITS.maxMembers);
  const prevHash = head?.hash ?? GENESIS_HASH;
  const { meetingId, instanceId } = ctx;
  const unacked = members
    .slice(1)
    .map((m) => m.participantId)
    .filter((id) => !state.acking.has(id));
  // Someone listed before us is not an acking member: the server may be keeping an older chain of
  // theirs from us, and our members must be free to move to it (§7.5a, provisional chains).
  const provisional = (ctx.ahead?.() ?? []).some((id) => !state.acking.has(id));
  const fields = { meetingId, instanceId, epoch, prevHash, locked: next.locked, excluded, unacked, provisional, members };
  const roster = createRoster(fields, ctx.identity);
  const epochKey = ctx.random(SIZE.epochKey);
  const recipients = members.slice(1).map((m) => ({
    participantId: m.participantId,
    dhKey: currentDhKey(m, ctx),
    echo: ctx.echoes.get(m.participantId) ?? m.nonce,
  }));
  const { identity, random, exportSecret } = ctx;
  // One fresh sender key pair per epoch, erased once sealed; one key message per member, holding its entry alone.
  const keys = recipients.length > 0 ? sealKeyMessages({ roster, epochKey, recipients, identity, random, exportSecret }) : null;
  if (keys && !keys.ok) {
    out.push({ type: 'error', code: keys.error.code, message: `epoch ${epoch} not started: ${keys.error.message}` });
    return { state: { ...closed, leftOut }, out };
  }

  // Built and checked: from here on the epoch is adopted, sent and installed.
  ctx.exportSecret(`epoch ${epoch} key`, epochKey);
  out.push({ type: 'adopt', roster });
  if (keys || (head && head.roster.members.length > 1)) {
    // (Alone now, but someone we removed may still be connected: it learns so from this roster.)
    out.push(...rosterSends(head, roster, state.sent));
  }
  for (const [to, message] of keys?.value ?? []) out.push({ type: 'send', to, message: { type: 'keys', keys: message } });

  // The lobby as it is once the roster is adopted: its members and exclusions are no longer candidates.
  const gone = [...members.map((m) => m.participantId), ...excluded];
  const candidates = new Map([...ctx.candidates].filter(([id]) => !gone.includes(id)));
  const lobby = refreshLobby({ ...next, leftOut, admitted: without(next.admitted, gone) }, { ...ctx, head: roster, candidates });
  out.push(...lobby.out, { type: 'install', roster, epochKey });

  const awaiting = new Set(recipients.map((r) => r.participantId).filter((id) => ctx.isPresent(id) && !state.unresponsive.has(id)));
  const commitAt = now + ctx.timing.commitTimeoutMs;
  out.push({ type: 'arm', timer: 'commit', at: commitAt });
  const record: SentEpoch = { epoch, roster: roster.roster, keys: keys?.value ?? new Map(), commit: null, acked: new Set() };
  const state2 = { ...lobby.state, pending: { epoch, roster, awaiting, commitAt }, sent: record, resentAt: new Map() };
  const started: LeaderStep = { state: state2, out };
  return awaiting.size === 0 ? andThen(started, (s) => commit(s, ctx, 'all-acked')) : started;
}

/**
 * How a new roster reaches the group (§4.2a): members that hold our head get
 * the delta from it, broadcast; whoever may not hold it gets the full roster,
 * addressed to it, first (so the delta that follows is its head already).
 * Those are the newcomers and, if we led the head's epoch, the members (and
 * members we drop) whose ack of it we never saw. Without a head (a new chain), or for a roster a
 * delta cannot express, the full roster is broadcast as before.
 */
function rosterSends(head: VerifiedRoster | null, next: VerifiedRoster, sent: SentEpoch | null): LeaderOutput[] {
  const full = (to: string | null): LeaderOutput => ({ type: 'send', to, message: { type: 'roster', roster: next.roster } });
  const delta = head && rosterDelta(head, next);
  if (!head || !delta) return [full(null)];
  const ackedHead = sent?.epoch === head.roster.epoch ? sent.acked : null;
  const holds = (id: string): boolean => head.roster.members.some((m) => m.participantId === id) && (!ackedHead || ackedHead.has(id));
  // Members we drop too: a removed one learns it from the roster (a departed one receives nothing anyway).
  const self = next.roster.members[0]?.participantId;
  const ids = new Set([...next.roster.members, ...head.roster.members].map((m) => m.participantId));
  const others = [...ids].filter((id) => id !== self);
  const doubtful = others.filter((id) => !holds(id));
  const sends = doubtful.map((id) => full(id));
  // Nobody to send the delta to when every other member got the full roster.
  if (doubtful.length < others.length) sends.push({ type: 'send', to: null, message: { type: 'delta', delta } });
  return sends;
}

/** Commits the epoch in flight: everyone switches to it (and so do we). */
export function commit(state: LeaderState, ctx: LeaderContext, reason: CommitReason): LeaderStep {
  const pending = state.pending;
  if (!pending) return still(state);
  const out: LeaderOutput[] = [{ type: 'disarm', timer: 'commit' }];
  let sent = state.sent;
  if (pending.roster.roster.members.length > 1) {
    const { meetingId, instanceId, selfId: leaderId } = ctx;
    const { epoch, roster } = pending;
    const commit = createCommit({ meetingId, instanceId, epoch, leaderId, rosterHash: roster.hash, reason }, ctx.identity);
    out.push({ type: 'send', to: null, message: { type: 'commit', commit } });
    if (sent?.epoch === epoch) sent = { ...sent, commit };
  }
  out.push({ type: 'switch', epoch: pending.epoch });
  if (state.dirty && state.flushAt === null) out.push({ type: 'flush-next' });
  const unresponsive = reason === 'timeout' ? new Set([...state.unresponsive, ...pending.awaiting]) : state.unresponsive;
  return { state: { ...state, pending: null, sent, unresponsive }, out };
}

/** A verified ack for `epoch` from `from`: commits once every present recipient acked. */
export function acked(state: LeaderState, ctx: LeaderContext, from: string, epoch: number): LeaderStep {
  // Any verified ack shows the member responds: we wait for it again from the next epoch on.
  const acking = state.acking.has(from) ? state : { ...state, acking: new Set([...state.acking, from]) };
  const unresponsive = acking.unresponsive.has(from) ? { ...acking, unresponsive: without(acking.unresponsive, [from]) } : acking;
  const sent = unresponsive.sent;
  const responsive = sent?.epoch === epoch ? { ...unresponsive, sent: { ...sent, acked: new Set([...sent.acked, from]) } } : unresponsive;
  if (responsive.pending?.epoch !== epoch) return still(responsive);
  return stopAwaiting(responsive, ctx, [from]);
}

/** The epoch in flight no longer waits for `ids` (acked, left, or on another chain): it commits once it waits for nobody. */
function stopAwaiting(state: LeaderState, ctx: LeaderContext, ids: readonly string[]): LeaderStep {
  const pending = state.pending;
  if (!pending || !ids.some((id) => pending.awaiting.has(id))) return still(state);
  const awaiting = without(pending.awaiting, ids);
  const next = { ...state, pending: { ...pending, awaiting } };
  return awaiting.size === 0 ? commit(next, ctx, 'all-acked') : still(next);
}

/**
 * A member of ours leads a chain of its own: a provisional roster it signed (§7.5a) reached us. It
 * will not ack ours until that chain merges into ours, and neither will the newcomers on it, so the
 * epoch in flight stops waiting for them, and so do the next ones until they ack. Members that
 * acked an epoch of ours are still waited for, even if that roster lists them: its leader (perhaps
 * an insider) cannot cut their wait short.
 */
export function otherChain(state: LeaderState, ctx: LeaderContext, leaderId: string, listed: readonly string[]): LeaderStep {
  const others = [leaderId, ...listed.filter((id) => !state.acking.has(id))];
  // Until they ack again (acked() takes them back), later epochs do not wait for them either.
  return stopAwaiting({ ...state, unresponsive: new Set([...state.unresponsive, ...others]) }, ctx, others);
}

/** The server says `id` left: it acks nothing any more, and if it was a member the next epoch drops it. */
export function participantLeft(state: LeaderState, ctx: LeaderContext, now: number, id: string): LeaderStep {
  let step = stopAwaiting(state, ctx, [id]);
  if (ctx.head?.roster.members.some((m) => m.participantId === id)) step = andThen(step, (s) => markDirty(s, ctx, now));
  return step;
}

/**
 * A member's verified resend request: it holds keys up to epoch `have` and
 * learned of a change it has no key for. If our newest epoch is newer and
 * keys it, we send that epoch's roster, key message and commit (if committed)
 * to it alone, at most once per member per resendMinIntervalMs: the answer is
 * never broadcast and never bigger than what the epoch already sent it.
 */
export function resend(state: LeaderState, ctx: LeaderContext, now: number, from: string, have: number, nonce?: Uint8Array): LeaderStep {
  const sent = state.sent;
  const keys = sent?.keys.get(from);
  if (!sent || !keys) return still(state);
  // A member of ours that holds a key as new as ours or newer is on another chain (a fork, made while
  // the server split us): it takes only a roster newer than its own, so the next epoch goes above it.
  // One that acked our newest epoch and holds nothing newer is on our chain (it waits for a change we
  // do not know of yet); one that acked it and now holds a newer key left our chain for one of its own
  // (a provisional chain, §7.5a) and came back. Each floor starts one epoch at most (the floor only
  // rises), so a repeated request rotates nothing.
  if (have >= sent.epoch) {
    if ((sent.acked.has(from) && have === sent.epoch) || have - sent.epoch > LIMITS.maxForkAhead || have <= state.floor)
      return still(state);
    return rotate({ ...state, floor: have }, ctx, now);
  }
  const last = state.resentAt.get(from);
  if (last !== undefined && now - last < ctx.timing.resendMinIntervalMs) {
    const message = `resend request from '${from}' within ${ctx.timing.resendMinIntervalMs} ms of the last: not answered`;
    return { state, out: [{ type: 'error', code: 'RATE_LIMITED', message, from }] };
  }
  // Our key message echoes another nonce than the member's newest (we took over as leader and never
  // saw its last ack): it may refuse it (STALE_NONCE). A new epoch echoes the newest instead. Only
  // for a request not older than the acks we saw (`nonce` given), so a replayed one rotates nothing.
  const entry = keys.entries.find((e) => e.to === from);
  if (entry && nonce && !constantTimeEqual(entry.echo, nonce)) {
    return andThen({ state: { ...state, resentAt: new Map([...state.resentAt, [from, now]]) }, out: [] }, (s) => rotate(s, ctx, now));
  }
  // A member keyed before (have > 0) gets the rosters between its newest key and ours first: it
  // verifies each against the one before (the chain), so it can take ours though it missed some
  // (those we no longer keep, it cannot). A newcomer (have 0) takes ours as its first.
  const out: LeaderOutput[] = [];
  for (let e = Math.max(have + 1, sent.epoch - LIMITS.keptRosters); have > 0 && e < sent.epoch; e++) {
    const r = ctx.rosterAt(e);
    if (r) out.push({ type: 'send', to: from, message: { type: 'roster', roster: r.roster } });
  }
  out.push(
    { type: 'send', to: from, message: { type: 'roster', roster: sent.roster } },
    { type: 'send', to: from, message: { type: 'keys', keys } },
  );
  if (sent.commit) out.push({ type: 'send', to: from, message: { type: 'commit', commit: sent.commit } });
  return { state: { ...state, resentAt: new Map([...state.resentAt, [from, now]]) }, out };
}

/** A candidate appeared or presence changed in a way that may change the next roster or the lobby. */
export function candidatesChanged(state: LeaderState, ctx: LeaderContext, now: number): LeaderStep {
  return andThen(markDirty(state, ctx, now), (s) => refreshLobby(s, ctx));
}

export function setLock(state: LeaderState, ctx: LeaderContext, now: number, locked: boolean): LeaderStep {
  if (state.locked === locked) return still(state);
  return candidatesChanged({ ...state, locked }, ctx, now);
}

/** A new epoch with the same members (the agent publishes a new meeting link under it). */
export function rotate(state: LeaderState, ctx: LeaderContext, now: number): LeaderStep {
  return markDirty({ ...state, rotate: true }, ctx, now);
}

export function admit(state: LeaderState, ctx: LeaderContext, now: number, participantId: string): LeaderStep {
  return candidatesChanged({ ...state, admitted: new Set([...state.admitted, participantId]) }, ctx, now);
}

/**
 * Refuses a newcomer the agent has just excluded (so ctx no longer lists it as a
 * candidate). Broadcast: the newcomer learns it, and members remember it in case they lead next.
 */
export function deny(state: LeaderState, ctx: LeaderContext, newcomer: Announcement | undefined): LeaderStep {
  const out: LeaderOutput[] = [];
  if (newcomer && ctx.head) {
    const admission = createAdmission({ roster: ctx.head, leaderId: ctx.selfId, newcomer, decision: 'deny' }, ctx.identity);
    out.push({ type: 'send', to: null, message: { type: 'admission', admission } });
  }
  return andThen({ state, out }, (s) => refreshLobby(s, ctx));
}

/** Drops admissions of participants that became members or were excluded. */
export function forget(state: LeaderState, ids: Iterable<string>): LeaderState {
  return { ...state, admitted: without(state.admitted, ids) };
}
