// Runs the pure leader transitions of leader.ts for the agent: holds the
// leader state while we lead, builds each step's context from what the agent
// knows, and carries out what a step asks for, in order (sends, lobby events,
// adopting and installing the new epoch, switching to it, its timers).

import { verifyAck, type Ack } from './ack.ts';
import type { Announcement } from './announcement.ts';
import type { Epochs } from './epochs.ts';
import { fail, ok, type E2eeErrorCode, type Result } from './errors.ts';
import type { AgentTiming, LobbyEvent, TimerHandle } from './events.ts';
import type { IdentityKeyPair } from './identity.ts';
import type { InputQueue } from './input-queue.ts';
import * as leader from './leader.ts';
import type { LeaderContext, LeaderState, LeaderStep, LeaderTimer } from './leader.ts';
import type { Presence } from './presence.ts';
import { verifyResendRequest, type ResendRequest } from './resend.ts';
import type { RandomBytes } from './primitives.ts';
import type { VerifiedRoster } from './roster.ts';
import type { WireMessage } from './wire.ts';

export type LeaderTransition = (s: LeaderState, ctx: LeaderContext, now: number) => LeaderStep;

export interface LeaderRunnerOptions {
  meetingId: string;
  instanceId: string;
  selfId: string;
  self: Announcement;
  identity: IdentityKeyPair;
  random: RandomBytes;
  timing: AgentTiming;
  now: () => number;
  queue: InputQueue;
  presence: Presence;
  epochs: Epochs;
  /** Highest epoch of a roster we verified (never from unverified messages). */
  epochHint: () => number;
  /** Removed, denied or stopped: we no longer act for the meeting. */
  ended: () => boolean;
  /** Reports a rejected ack, an admission control that no longer applies when its turn comes, or a step's error. */
  reject: (code: E2eeErrorCode, message: string, from?: string) => void;
  exportSecret: (label: string, bytes: Uint8Array) => void;
  send: (to: string | null, m: WireMessage) => void;
  emitLobby: (e: LobbyEvent) => void;
  /** Our new roster becomes the head (the agent also updates presence and exclusions). */
  adopt: (roster: VerifiedRoster) => void;
  /** A committed epoch: send with it. */
  switchTo: (epoch: number) => void;
}

export class LeaderRunner {
  private lead: LeaderState | null = null;
  private readonly timers = new Map<LeaderTimer, TimerHandle>();

  constructor(private readonly o: LeaderRunnerOptions) {}

  /** The leader state; null unless we lead. */
  get state(): LeaderState | null {
    return this.lead;
  }

  /** We lead from now on (first in a new chain, or the successor of a leader that left). */
  begin(): void {
    if (this.lead) return;
    this.lead = leader.initialState(this.o.epochs.head);
    this.run(leader.refreshLobby);
  }

  /** We no longer lead (removed, stopped). Pending timers find no state and do nothing. */
  end(): void {
    this.lead = null;
  }

  /** Drops admissions of participants that became members or were excluded. */
  forget(ids: Iterable<string>): void {
    if (this.lead) this.lead = leader.forget(this.lead, ids);
  }

  /** Leader only: who waits in the lobby now, oldest first (empty otherwise). */
  waiting(): Announcement[] {
    return this.lead ? leader.waitingIn(this.lead, this.context()) : [];
  }

  // The admission controls (lock, admit, deny, remove) check at once (the
  // error value is for the UI) and again when their turn in the input queue
  // comes, reporting an error if things changed meanwhile (e.g. we stopped leading).

  action(check: () => Result<unknown>, apply: () => void): Result<void> {
    const now = check();
    if (!now.ok) return now;
    this.o.queue.enqueue(() => {
      const later = check();
      if (!later.ok) return this.o.reject(later.error.code, later.error.message);
      if (this.lead) apply();
    });
    return ok(undefined);
  }

  require(what: string): Result<LeaderState> {
    if (!this.lead || this.o.ended()) return fail('NOT_LEADER', `only the leader can ${what}`);
    return ok(this.lead);
  }

  requireWaiting(participantId: string): Result<LeaderState> {
    const lead = this.require('admit or deny');
    if (!lead.ok) return lead;
    const waiting = this.waiting().some((a) => a.participantId === participantId);
    return waiting ? lead : fail('NOT_IN_LOBBY', `'${participantId}' is not waiting in the lobby`);
  }

  /** A relayed ack: verified whether or not we lead (its nonce is the member's freshest echo), counted if we do. */
  ack(from: string, a: Ack): void {
    const { o } = this;
    const { meetingId, instanceId, selfId } = o;
    const checked = verifyAck(a, { meetingId, instanceId, from, selfId, roster: o.epochs.roster(a.epoch) });
    if (!checked.ok) return o.reject(checked.error.code, checked.error.message, from);
    o.presence.ackedEcho(from, a.epoch, a.nonce);
    if (a.next) o.presence.ackedNext(from, a.epoch, a.next);
    this.run((s, ctx) => leader.acked(s, ctx, from, a.epoch));
  }

  /** A member of our head signed a provisional roster of its own (checked by the caller). */
  otherChain(from: string, listed: readonly string[]): void {
    this.run((s, ctx) => leader.otherChain(s, ctx, from, listed));
  }

  /**
   * A member of our newest epoch announced again: it has no key yet (a newcomer
   * whose roster or key message the server withheld), so it gets them again,
   * as for a resend request (rate-limited the same way).
   */
  reannounced(from: string): void {
    const sent = this.lead?.sent;
    if (!sent || !sent.roster.members.some((m) => m.participantId === from)) return;
    this.run((s, ctx, now) => leader.resend(s, ctx, now, from, 0));
  }

  /** A member's resend request: only the leader answers (leader.resend, rate-limited there). */
  resend(from: string, r: ResendRequest): void {
    const { o } = this;
    const head = o.epochs.head;
    if (!this.lead || !head) return;
    const checked = verifyResendRequest(r, { meetingId: o.meetingId, instanceId: o.instanceId, from, roster: head });
    if (!checked.ok) return o.reject(checked.error.code, checked.error.message, from);
    // Its newest nonce is the one it issued acking `have` (a replayed older request cannot roll it back).
    const fresh = o.presence.ackedEcho(from, r.have, r.nonce);
    this.run((s, ctx, now) => leader.resend(s, ctx, now, from, r.have, fresh ? r.nonce : undefined));
  }

  /** Runs one transition (if we lead) and carries out what it asks for, in order. */
  run(transition: LeaderTransition): void {
    if (!this.lead) return;
    const now = this.o.now();
    const { state, out } = transition(this.lead, this.context(), now);
    this.lead = state;
    for (const o of out) {
      if (!this.lead) return; // a listener stopped us
      switch (o.type) {
        case 'send':
          this.o.send(o.to, o.message);
          break;
        case 'lobby':
          this.o.emitLobby(o.event);
          break;
        case 'adopt':
          this.o.adopt(o.roster);
          this.o.epochs.keyEpoch = o.roster.roster.epoch;
          break;
        case 'install':
          this.o.epochs.install(o.roster, o.epochKey);
          break;
        case 'switch':
          this.o.switchTo(o.epoch);
          break;
        case 'arm': {
          const task: LeaderTransition = o.timer === 'flush' ? leader.flush : (s, ctx) => leader.commit(s, ctx, 'timeout');
          this.timers.set(
            o.timer,
            this.o.queue.timer(o.at - now, () => this.run(task)),
          );
          break;
        }
        case 'disarm':
          this.o.queue.cancel(this.timers.get(o.timer) ?? null);
          this.timers.delete(o.timer);
          break;
        case 'flush-next':
          this.o.queue.enqueue(() => this.run(leader.flush));
          break;
        case 'error':
          this.o.reject(o.code, o.message, o.from);
          break;
      }
    }
  }

  private context(): LeaderContext {
    const { presence: p } = this.o;
    return {
      meetingId: this.o.meetingId,
      instanceId: this.o.instanceId,
      selfId: this.o.selfId,
      self: this.o.self,
      identity: this.o.identity,
      random: this.o.random,
      timing: this.o.timing,
      head: this.o.epochs.head,
      candidates: p.candidates,
      isPresent: p.isPresent,
      excluded: p.excluded,
      departed: p.departed,
      ahead: () => p.ahead(),
      echoes: p.echoes,
      freshEcho: p.freshEcho,
      epochHint: this.o.epochHint(),
      dhKeyFor: p.dhKeyFor,
      rosterAt: (epoch) => this.o.epochs.roster(epoch),
      exportSecret: this.o.exportSecret,
    };
  }
}
