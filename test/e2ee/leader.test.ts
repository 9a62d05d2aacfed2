// The leader's state transitions (shared/e2ee/leader.ts) with explicit times
// and no clock: each step returns the next state and what the agent should do,
// and these tests read those outputs directly.

import { beforeAll, describe, expect, it } from 'vitest';
import type { Announcement } from '../../shared/e2ee/announcement.ts';
import { TIMING } from '../../shared/e2ee/constants.ts';
import * as leader from '../../shared/e2ee/leader.ts';
import type { LeaderContext, LeaderOutput, LeaderState, LeaderStep } from '../../shared/e2ee/leader.ts';
import { initCrypto, systemRandom } from '../../shared/e2ee/primitives.ts';
import type { VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { CTX, participant, rosterOf, type TestParticipant } from './fixtures.ts';

beforeAll(initCrypto);

const { batchMs, commitTimeoutMs } = TIMING;

/** What the rest of the agent would know, kept up to date with the leader's own outputs. */
class World {
  readonly alice = participant('alice');
  readonly others = new Map<string, TestParticipant>();
  readonly present = new Set<string>(['alice']);
  readonly candidates = new Map<string, Announcement>();
  readonly excluded = new Set<string>();
  head: VerifiedRoster | null = null;
  state: LeaderState;

  constructor(head: VerifiedRoster | null = null) {
    this.head = head;
    this.state = leader.becomeLeader(this.ctx()).state;
  }

  ctx(): LeaderContext {
    return {
      ...CTX,
      selfId: 'alice',
      self: this.alice.announcement,
      identity: this.alice.identity,
      random: systemRandom,
      timing: { batchMs, commitTimeoutMs, resendMinIntervalMs: TIMING.resendMinIntervalMs },
      head: this.head,
      candidates: this.candidates,
      isPresent: (id) => this.present.has(id),
      excluded: this.excluded,
      departed: new Set(),
      echoes: new Map(),
      epochHint: 0,
      dhKeyFor: () => undefined,
      rosterAt: () => undefined,
      exportSecret: () => {},
    };
  }

  /** A participant joins and its verified announcement arrives. */
  arrive(id: string): TestParticipant {
    const p = participant(id);
    this.others.set(id, p);
    this.present.add(id);
    this.candidates.set(id, p.announcement);
    return p;
  }

  /** Runs a step the way the agent does: the new roster becomes the head, its members stop being candidates. */
  step(f: (s: LeaderState, ctx: LeaderContext) => LeaderStep): LeaderOutput[] {
    const { state, out } = f(this.state, this.ctx());
    this.state = state;
    for (const o of out) {
      if (o.type !== 'adopt') continue;
      this.head = o.roster;
      for (const m of o.roster.roster.members) this.candidates.delete(m.participantId);
    }
    return out;
  }
}

const kinds = (out: readonly LeaderOutput[]): string[] => out.map((o) => (o.type === 'send' ? `send ${o.message.type}` : o.type));
const sent = (out: readonly LeaderOutput[]) => out.flatMap((o) => (o.type === 'send' ? [o] : []));
const armed = (out: readonly LeaderOutput[], timer: 'flush' | 'commit') => out.find((o) => o.type === 'arm' && o.timer === timer);
const members = (w: World): string[] => w.head?.roster.members.map((m) => m.participantId) ?? [];
const lobbyEvents = (out: readonly LeaderOutput[]) => out.flatMap((o) => (o.type === 'lobby' ? [o.event] : []));

/** Alice alone, keyed at t = 0 (her first epoch needs nobody's ack). */
function aloneAtZero(): World {
  const w = new World();
  w.step((s, ctx) => leader.flush(s, ctx, 0));
  return w;
}

describe('leader: starting epochs', () => {
  it('keys a leader alone at once: no message to send, and the epoch commits without acks', () => {
    const w = new World();
    expect(w.state.dirty).toBe(true);
    const out = w.step((s, ctx) => leader.flush(s, ctx, 0));
    expect(kinds(out)).toEqual(['adopt', 'install', 'arm', 'disarm', 'switch']);
    expect(members(w)).toEqual(['alice']);
    expect(w.state).toMatchObject({ dirty: false, pending: null, lastFlushAt: 0, flushAt: null });
  });

  it('starts an epoch at once for an isolated join', () => {
    const w = aloneAtZero();
    w.arrive('bob');
    const out = w.step((s, ctx) => leader.candidatesChanged(s, ctx, 10_000));
    expect(armed(out, 'flush')).toEqual({ type: 'arm', timer: 'flush', at: 10_000 });
    const epoch = w.step((s, ctx) => leader.flush(s, ctx, 10_000));
    expect(kinds(epoch)).toEqual(['disarm', 'adopt', 'send roster', 'send keys', 'install', 'arm']);
    expect(members(w)).toEqual(['alice', 'bob']);
    expect(w.state.pending).toMatchObject({ epoch: 2, awaiting: new Set(['bob']), commitAt: 10_000 + commitTimeoutMs });
  });

  it('yields one epoch for churn inside the 250 ms window', () => {
    const w = aloneAtZero();
    w.arrive('bob');
    // The window since the last epoch (t = 0) is still open at t = 100: wait until it closes.
    expect(
      armed(
        w.step((s, ctx) => leader.candidatesChanged(s, ctx, 100)),
        'flush',
      ),
    ).toMatchObject({ at: batchMs });
    w.arrive('carol');
    expect(
      armed(
        w.step((s, ctx) => leader.candidatesChanged(s, ctx, 150)),
        'flush',
      ),
    ).toBeUndefined();
    w.arrive('dave');
    w.step((s, ctx) => leader.candidatesChanged(s, ctx, 200));
    const out = w.step((s, ctx) => leader.flush(s, ctx, batchMs));
    // Newcomers all: each gets the full roster and its own key message, addressed to it.
    expect(sent(out).map((o) => `${o.message.type} ${o.to}`)).toEqual([
      'roster bob',
      'roster carol',
      'roster dave',
      'keys bob',
      'keys carol',
      'keys dave',
    ]);
    expect(members(w)).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(w.head?.roster.epoch).toBe(2);
  });

  it('starts no epoch when nothing changed the roster', () => {
    const w = aloneAtZero();
    w.step((s, ctx) => leader.markDirty(s, ctx, 1000));
    const out = w.step((s, ctx) => leader.flush(s, ctx, 1000));
    expect(kinds(out)).toEqual(['disarm']);
    expect(w.head?.roster.epoch).toBe(1);
  });

  it('waits a full window after a failover, so departures arriving together share one epoch', () => {
    const w = aloneAtZero();
    expect(
      armed(
        w.step((s, ctx) => leader.markDirty(s, ctx, 5000, true)),
        'flush',
      ),
    ).toMatchObject({ at: 5000 + batchMs });
  });

  it('continues the numbering it saw when it starts a new chain', () => {
    const w = new World();
    const out = w.step((s, ctx) => leader.flush(s, { ...ctx, epochHint: 41 }, 0));
    expect(out.find((o) => o.type === 'adopt')).toMatchObject({ roster: { roster: { epoch: 42 } } });
  });
});

describe('leader: acks and commit', () => {
  /** Alice alone at 0, then bob and carol keyed in epoch 2 at t = 1000, not acked yet. */
  function inFlight(): World {
    const w = aloneAtZero();
    w.arrive('bob');
    w.arrive('carol');
    w.step((s, ctx) => leader.candidatesChanged(s, ctx, 1000));
    w.step((s, ctx) => leader.flush(s, ctx, 1000));
    return w;
  }

  it('commits when every member acked', () => {
    const w = inFlight();
    expect(w.step((s, ctx) => leader.acked(s, ctx, 'bob', 2))).toEqual([]);
    const out = w.step((s, ctx) => leader.acked(s, ctx, 'carol', 2));
    expect(kinds(out)).toEqual(['disarm', 'send commit', 'switch']);
    expect(sent(out)[0]?.message).toMatchObject({ type: 'commit', commit: { epoch: 2, reason: 'all-acked' } });
    expect(w.state.pending).toBeNull();
  });

  it('ignores an ack for another epoch', () => {
    const w = inFlight();
    const before = w.state;
    expect(w.step((s, ctx) => leader.acked(s, ctx, 'bob', 1))).toEqual([]);
    expect(w.state.pending?.awaiting).toEqual(before.pending?.awaiting);
  });

  it('commits at the deadline without the missing acks', () => {
    const w = inFlight();
    w.step((s, ctx) => leader.acked(s, ctx, 'bob', 2));
    const out = w.step((s, ctx) => leader.commit(s, ctx, 'timeout'));
    expect(sent(out)[0]?.message).toMatchObject({ type: 'commit', commit: { epoch: 2, reason: 'timeout' } });
  });

  it('stops waiting for a member that leads a chain of its own and its newcomers, never for members that acked, until they ack', () => {
    const w = inFlight();
    w.step((s, ctx) => leader.acked(s, ctx, 'bob', 2));
    w.step((s, ctx) => leader.acked(s, ctx, 'carol', 2));
    w.arrive('dave');
    w.arrive('erin');
    w.step((s, ctx) => leader.candidatesChanged(s, ctx, 5000));
    w.step((s, ctx) => leader.flush(s, ctx, 5000));
    expect(w.state.pending?.awaiting).toEqual(new Set(['bob', 'carol', 'dave', 'erin']));
    // Bob signed a provisional roster listing Carol (who acked ours: still awaited) and Dave (a newcomer: not).
    expect(w.step((s, ctx) => leader.otherChain(s, ctx, 'bob', ['carol', 'dave']))).toEqual([]);
    expect(w.state.pending?.awaiting).toEqual(new Set(['carol', 'erin']));
    w.step((s, ctx) => leader.acked(s, ctx, 'erin', 3));
    const out = w.step((s, ctx) => leader.acked(s, ctx, 'carol', 3));
    expect(sent(out)[0]?.message).toMatchObject({ type: 'commit', commit: { epoch: 3, reason: 'all-acked' } });
    // The next epoch does not wait for Bob or Dave either, until one of them acks.
    w.arrive('frank');
    w.step((s, ctx) => leader.candidatesChanged(s, ctx, 9000));
    w.step((s, ctx) => leader.flush(s, ctx, 9000));
    expect(w.state.pending?.awaiting).toEqual(new Set(['carol', 'erin', 'frank']));
    w.step((s, ctx) => leader.acked(s, ctx, 'bob', 3));
    w.step((s, ctx) => leader.acked(s, ctx, 'carol', 4));
    w.step((s, ctx) => leader.acked(s, ctx, 'erin', 4));
    w.step((s, ctx) => leader.acked(s, ctx, 'frank', 4));
    w.arrive('gina');
    w.step((s, ctx) => leader.candidatesChanged(s, ctx, 12_000));
    w.step((s, ctx) => leader.flush(s, ctx, 12_000));
    expect(w.state.pending?.awaiting).toEqual(new Set(['bob', 'carol', 'erin', 'frank', 'gina']));
  });

  it('does not wait again for a member that missed a commit timeout, until it acks', () => {
    const w = inFlight();
    w.step((s, ctx) => leader.acked(s, ctx, 'bob', 2));
    w.step((s, ctx) => leader.commit(s, ctx, 'timeout'));
    // Carol never acked epoch 2: epoch 3 (Dave joins) waits for Bob and Dave only.
    w.arrive('dave');
    w.step((s, ctx) => leader.candidatesChanged(s, ctx, 5000));
    w.step((s, ctx) => leader.flush(s, ctx, 5000));
    expect(w.state.pending?.awaiting).toEqual(new Set(['bob', 'dave']));
    // A late ack from her for epoch 2 shows she answers: epoch 4 waits for her again.
    w.step((s, ctx) => leader.acked(s, ctx, 'carol', 2));
    w.step((s, ctx) => leader.acked(s, ctx, 'bob', 3));
    w.step((s, ctx) => leader.acked(s, ctx, 'dave', 3));
    w.arrive('erin');
    w.step((s, ctx) => leader.candidatesChanged(s, ctx, 9000));
    w.step((s, ctx) => leader.flush(s, ctx, 9000));
    expect(w.state.pending?.awaiting).toEqual(new Set(['bob', 'carol', 'dave', 'erin']));
  });

  it('commits when the last member it waits for leaves, and drops that member in the next epoch', () => {
    const w = inFlight();
    w.step((s, ctx) => leader.acked(s, ctx, 'bob', 2));
    w.present.delete('carol');
    const out = w.step((s, ctx) => leader.participantLeft(s, ctx, 1200, 'carol'));
    expect(kinds(out)).toEqual(['disarm', 'send commit', 'switch', 'arm']);
    // The window since epoch 2 (t = 1000) is still open: the next epoch waits until it closes.
    expect(armed(out, 'flush')).toMatchObject({ at: 1000 + batchMs });
    w.step((s, ctx) => leader.flush(s, ctx, 1000 + batchMs));
    expect(members(w)).toEqual(['alice', 'bob']);
  });

  it('holds changes while an epoch is in flight, and starts the next one right after the commit', () => {
    const w = inFlight();
    w.arrive('dave');
    expect(w.step((s, ctx) => leader.candidatesChanged(s, ctx, 1100))).toEqual([]);
    expect(w.state).toMatchObject({ dirty: true, flushAt: null });
    w.step((s, ctx) => leader.acked(s, ctx, 'bob', 2));
    const out = w.step((s, ctx) => leader.acked(s, ctx, 'carol', 2));
    expect(kinds(out)).toEqual(['disarm', 'send commit', 'switch', 'flush-next']);
    w.step((s, ctx) => leader.flush(s, ctx, 1150));
    expect(members(w)).toEqual(['alice', 'bob', 'carol', 'dave']);
  });
});

describe('leader: lock and lobby', () => {
  it('signs the lock into the next roster, and tells a newcomer to wait once', () => {
    const w = aloneAtZero();
    const locking = w.step((s, ctx) => leader.setLock(s, ctx, 1000, true));
    expect(lobbyEvents(locking)).toEqual([{ locked: true, waiting: [] }]);
    w.step((s, ctx) => leader.flush(s, ctx, 1000));
    expect(w.head?.roster.locked).toBe(true);

    w.arrive('nina');
    const out = w.step((s, ctx) => leader.candidatesChanged(s, ctx, 2000));
    const decisions = sent(out).map((o) => [o.to, o.message.type, o.message.type === 'admission' && o.message.admission.decision]);
    expect(decisions).toEqual([['nina', 'admission', 'wait']]);
    expect(lobbyEvents(out)).toEqual([{ locked: true, waiting: [expect.objectContaining({ participantId: 'nina', name: 'Nina' })] }]);
    // Nothing changed for the lobby: no second message, no event.
    expect(w.step((s, ctx) => leader.refreshLobby(s, ctx))).toEqual([]);
    // And nina is not keyed while she waits.
    w.step((s, ctx) => leader.flush(s, ctx, 2000));
    expect(members(w)).toEqual(['alice']);
  });

  it('takes an admitted newcomer out of the lobby at once, and keys her with the next epoch', () => {
    const w = aloneAtZero();
    w.step((s, ctx) => leader.setLock(s, ctx, 1000, true));
    w.step((s, ctx) => leader.flush(s, ctx, 1000));
    w.arrive('nina');
    w.step((s, ctx) => leader.candidatesChanged(s, ctx, 2000));
    w.step((s, ctx) => leader.flush(s, ctx, 2000));
    const admitting = w.step((s, ctx) => leader.admit(s, ctx, 3000, 'nina'));
    expect(lobbyEvents(admitting)).toEqual([{ locked: true, waiting: [] }]);
    expect(armed(admitting, 'flush')).toMatchObject({ at: 3000 });
    w.step((s, ctx) => leader.flush(s, ctx, 3000));
    expect(members(w)).toEqual(['alice', 'nina']);
    // Once she is a member, her admission is spent.
    expect(w.state.admitted.size).toBe(0);
  });

  it('broadcasts a denial, and the denied newcomer leaves the lobby', () => {
    const w = aloneAtZero();
    w.step((s, ctx) => leader.setLock(s, ctx, 1000, true));
    w.step((s, ctx) => leader.flush(s, ctx, 1000));
    const nina = w.arrive('nina');
    w.step((s, ctx) => leader.candidatesChanged(s, ctx, 2000));
    // The agent excludes her first, then asks the leader to tell everyone.
    w.excluded.add('nina');
    w.candidates.delete('nina');
    const out = w.step((s, ctx) => leader.deny(s, ctx, nina.announcement));
    expect(sent(out).map((o) => [o.to, o.message.type === 'admission' && o.message.admission.decision])).toEqual([[null, 'deny']]);
    expect(lobbyEvents(out)).toEqual([{ locked: true, waiting: [] }]);
  });

  it('lets everyone waiting in with one epoch when the meeting is unlocked', () => {
    const w = aloneAtZero();
    w.step((s, ctx) => leader.setLock(s, ctx, 1000, true));
    w.step((s, ctx) => leader.flush(s, ctx, 1000));
    for (const id of ['nina', 'omar']) w.arrive(id);
    w.step((s, ctx) => leader.candidatesChanged(s, ctx, 2000));
    w.step((s, ctx) => leader.flush(s, ctx, 2000));
    w.step((s, ctx) => leader.setLock(s, ctx, 3000, false));
    w.step((s, ctx) => leader.flush(s, ctx, 3000));
    expect(members(w)).toEqual(['alice', 'nina', 'omar']);
    expect(w.head?.roster.locked).toBe(false);
  });

  it('inherits the lock from the roster everyone verified when it takes over', () => {
    const bob = participant('bob');
    const w = new World(rosterOf([bob], 7, undefined, undefined, { locked: true }));
    expect(w.state.locked).toBe(true);
    expect(new World().state.locked).toBe(false);
  });
});

describe('leader: resend requests (finding 2)', () => {
  /** Alice and Bob, epoch 2 sent at t = 10 s; committed if `commit`. */
  function keyedBob(commit: boolean): World {
    const w = aloneAtZero();
    w.arrive('bob');
    w.step((s, ctx) => leader.candidatesChanged(s, ctx, 10_000));
    w.step((s, ctx) => leader.flush(s, ctx, 10_000));
    if (commit) w.step((s, ctx) => leader.acked(s, ctx, 'bob', 2));
    return w;
  }

  it("answers a member missing the newest epoch with that epoch's roster, key message and commit, to it alone", () => {
    const w = keyedBob(true);
    const out = w.step((s, ctx) => leader.resend(s, ctx, 11_000, 'bob', 1));
    expect(sent(out).map((o) => [o.to, o.message.type])).toEqual([
      ['bob', 'roster'],
      ['bob', 'keys'],
      ['bob', 'commit'],
    ]);
  });

  it('sends no commit for an epoch still in flight, and nothing to a member that has the epoch or is not in it', () => {
    const w = keyedBob(false);
    expect(kinds(w.step((s, ctx) => leader.resend(s, ctx, 11_000, 'bob', 1)))).toEqual(['send roster', 'send keys']);
    expect(w.step((s, ctx) => leader.resend(s, ctx, 20_000, 'bob', 2))).toEqual([]);
    expect(w.step((s, ctx) => leader.resend(s, ctx, 20_000, 'carol', 0))).toEqual([]);
  });

  it('starts a new epoch instead when its key message echoes another nonce than the member’s newest', () => {
    const w = keyedBob(true);
    const echoed = w.state.sent!.keys.get('bob')!.entries[0]!.echo;
    // The nonce it echoed: the usual answer.
    expect(kinds(w.step((s, ctx) => leader.resend(s, ctx, 11_000, 'bob', 1, echoed)))).toEqual(['send roster', 'send keys', 'send commit']);
    // A newer one (an ack we never saw, as a leader that took over): no resend, a new epoch.
    const out = w.step((s, ctx) => leader.resend(s, ctx, 13_000, 'bob', 1, new Uint8Array(16).fill(9)));
    expect(kinds(out)).not.toContain('send keys');
    expect(armed(out, 'flush')).toBeDefined();
    expect(w.state.rotate).toBe(true);
  });

  it('answers each member at most once per interval', () => {
    const w = keyedBob(true);
    w.step((s, ctx) => leader.resend(s, ctx, 11_000, 'bob', 1));
    const again = w.step((s, ctx) => leader.resend(s, ctx, 11_000 + TIMING.resendMinIntervalMs - 1, 'bob', 1));
    expect(again).toMatchObject([{ type: 'error', code: 'RATE_LIMITED', from: 'bob' }]);
    expect(kinds(w.step((s, ctx) => leader.resend(s, ctx, 11_000 + TIMING.resendMinIntervalMs, 'bob', 1)))).toHaveLength(3);
  });
});
