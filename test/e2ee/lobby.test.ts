import { beforeAll, describe, expect, it } from 'vitest';
import { createAdmission } from '../../shared/e2ee/admission.ts';
import { encodeMessage } from '../../shared/e2ee/wire.ts';
import { fingerprint, initCrypto } from '../../shared/e2ee/index.ts';
import { systemRandom } from '../../shared/e2ee/primitives.ts';
import type { VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { flipped } from './fixtures.ts';
import {
  advance,
  codes,
  harness,
  inject,
  keyedEpochs,
  lastRelayed,
  lastRoster,
  meeting,
  rosterIds,
  wait,
  type Harness,
} from './harness.ts';

beforeAll(initCrypto);

const OK = { ok: true, value: undefined };

describe('locking the meeting', () => {
  it('is signed into the next roster, a new epoch every member sees', async () => {
    const h = harness();
    const [a, b, c] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    if (!a || !b || !c) throw new Error('setup');
    const before = a.agent.currentEpoch;
    expect(a.agent.setLocked(true)).toEqual(OK);
    await h.sim.settle();
    expect(a.agent.currentEpoch).toBe(before + 1);
    for (const p of [a, b, c]) expect([p.log.roster?.locked, p.agent.locked]).toEqual([true, true]);
    expect(lastRoster(h, a.id).roster.locked).toBe(true);
    expect(a.log.lobby).toEqual({ locked: true, waiting: [] });
    expect(h.sim.check()).toEqual([]);

    expect(a.agent.setLocked(false)).toEqual(OK);
    await h.sim.settle();
    expect(a.agent.currentEpoch).toBe(before + 2);
    for (const p of [a, b, c]) expect(p.log.roster?.locked).toBe(false);
    expect(h.sim.check()).toEqual([]);
  });

  it('cannot be forged or replayed by the server', async () => {
    const h = harness();
    const [a, b, c] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    if (!a || !b || !c) throw new Error('setup');
    const unlocked = encodeMessage({ type: 'roster', roster: lastRoster(h, a.id).roster });
    // The server withholds the locking epoch from Carol, then tries to hand her an unlocked version of it.
    h.drop = (from, to, payload) => from === a.id && to === c.id && /"t":"(roster|delta|keys|commit)"/.test(payload);
    a.agent.setLocked(true);
    await h.sim.settle();
    h.drop = () => false;
    const locked = lastRoster(h, a.id);
    inject(c, a.id, { type: 'roster', roster: { ...locked.roster, locked: false } });
    await h.sim.settle();
    expect(codes(c)).toEqual(['BAD_SIGNATURE']);
    expect(c.log.roster?.locked).toBe(false);
    // The genuine messages bring her up to date; replaying the older unlocked roster then fails.
    for (const type of ['delta', 'keys', 'commit'] as const) inject(c, a.id, lastRelayed(h, type, a.id, c.id).relayed.plain);
    inject(c, a.id, unlocked);
    await h.sim.settle();
    expect(codes(c)).toEqual(['BAD_SIGNATURE', 'STALE_EPOCH']);
    expect(c.log.roster?.locked).toBe(true);
    expect(c.agent.currentEpoch).toBe(a.agent.currentEpoch);
  });

  it('is the leader’s alone: others get NOT_LEADER, and bad targets their own codes', async () => {
    const h = harness();
    const [a, b] = await meeting(h, ['Alice', 'Bob']);
    if (!a || !b) throw new Error('setup');
    const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);
    expect([b.agent.setLocked(true), b.agent.admit(a.id), b.agent.deny(a.id), b.agent.remove(a.id)].map(codeOf)).toEqual([
      'NOT_LEADER',
      'NOT_LEADER',
      'NOT_LEADER',
      'NOT_LEADER',
    ]);
    expect(codeOf(a.agent.admit(b.id))).toBe('NOT_IN_LOBBY');
    expect(codeOf(a.agent.deny(b.id))).toBe('NOT_IN_LOBBY');
    expect(codeOf(a.agent.remove('stranger'))).toBe('NOT_A_MEMBER');
    expect(codeOf(a.agent.remove(a.id))).toBe('INVALID_ARGUMENT');
    expect([a.agent.isLeader, b.agent.isLeader]).toEqual([true, false]);
    await h.sim.settle();
    expect(h.sim.check()).toEqual([]);
  });
});

describe('the lobby', () => {
  it('holds a newcomer with no key until the leader admits it, then keys it from the next epoch only', async () => {
    const h = harness();
    const [a, b] = await meeting(h, ['Alice', 'Bob']);
    if (!a || !b) throw new Error('setup');
    a.agent.setLocked(true);
    await h.sim.settle();
    const before = a.agent.currentEpoch;
    const n = await h.sim.join({ name: 'Nina' });
    await wait(h, 30_000);
    expect(n.log.state).toBe('lobby');
    expect(n.log.statuses.at(-1)).toEqual({ state: 'lobby', by: { participantId: a.id, fingerprint: fingerprint(a.identity.publicKey) } });
    expect(keyedEpochs(n)).toEqual([]);
    expect(n.log.secrets.filter((s) => s.label.includes('epoch'))).toEqual([]);
    expect(a.log.lobby).toEqual({
      locked: true,
      waiting: [{ participantId: n.id, name: 'Nina', fingerprint: fingerprint(n.identity.publicKey) }],
    });
    expect(a.agent.waiting.map((w) => w.participantId)).toEqual([n.id]);
    expect(rosterIds(b)).toEqual([a.id, b.id]);
    expect(a.agent.currentEpoch).toBe(before); // nobody new holds a key, so no rotation

    expect(a.agent.admit(n.id)).toEqual(OK);
    await h.sim.settle();
    expect(n.log.state).toBe('ok');
    expect(keyedEpochs(n)).toEqual([before + 1]);
    expect(a.log.lobby).toEqual({ locked: true, waiting: [] });
    expect(h.sim.check()).toEqual([]); // also: Nina holds no key made before she joined
  });

  it('admits everyone waiting when the leader unlocks, in one epoch', async () => {
    const h = harness();
    const [a] = await meeting(h, ['Alice', 'Bob']);
    if (!a) throw new Error('setup');
    a.agent.setLocked(true);
    await h.sim.settle();
    const [n1, n2] = [await h.sim.join({ name: 'Nina' }), await h.sim.join({ name: 'Ned' })];
    await h.sim.settle();
    expect(a.log.lobby?.waiting.map((w) => w.name)).toEqual(['Nina', 'Ned']);
    const before = a.agent.currentEpoch;
    a.agent.setLocked(false);
    await h.sim.settle();
    expect([n1.log.state, n2.log.state]).toEqual(['ok', 'ok']);
    expect(a.agent.currentEpoch).toBe(before + 1);
    expect(a.log.lobby).toEqual({ locked: false, waiting: [] });
    expect(h.sim.check()).toEqual([]);
  });

  it("does not believe a tampered, misdirected or replayed 'you are in the lobby'", async () => {
    const h = harness();
    const [a, b] = await meeting(h, ['Alice', 'Bob']);
    if (!a || !b) throw new Error('setup');
    a.agent.setLocked(true);
    await h.sim.settle();
    const n = await h.sim.join({ name: 'Nina' });
    h.drop = (_from, to, payload) => to === n.id && payload.includes('"t":"admission"');
    // Within silentAheadMs: past it, Nina would start a chain of her own (protocol.md §5).
    await advance(h, 500);
    h.drop = () => false;
    expect(n.log.state).toBe('waiting-for-key');
    const genuine = lastRelayed(h, 'admission', a.id).message.admission;
    const earlier = { ...n.agent.ownAnnouncement, nonce: systemRandom(16) };
    const otherSession = createAdmission({ roster: headOf(h, a.id), leaderId: a.id, newcomer: earlier, decision: 'wait' }, a.identity);
    inject(n, a.id, { type: 'admission', admission: { ...genuine, signature: flipped(genuine.signature) } }); // forged
    inject(n, a.id, { type: 'admission', admission: { ...genuine, decision: 'deny' } }); // flipped decision
    inject(n, a.id, { type: 'admission', admission: otherSession }); // an earlier session's message
    inject(n, b.id, encodeMessage({ type: 'admission', admission: genuine })); // relayed as if from Bob
    inject(n, 'stranger', encodeMessage({ type: 'admission', admission: genuine })); // from someone not present
    await advance(h, 200);
    expect(codes(n)).toEqual(['BAD_SIGNATURE', 'BAD_SIGNATURE', 'STALE_NONCE', 'SENDER_MISMATCH', 'UNKNOWN_PARTICIPANT']);
    expect(n.log.state).toBe('waiting-for-key');
    inject(n, a.id, { type: 'admission', admission: genuine });
    await h.sim.settle();
    expect(n.log.state).toBe('lobby');
    // Once admitted, a replay of the same message is stale.
    a.agent.admit(n.id);
    await h.sim.settle();
    inject(n, a.id, { type: 'admission', admission: genuine });
    await h.sim.settle();
    expect(codes(n).at(-1)).toBe('STALE_EPOCH');
    expect(n.log.state).toBe('ok');
  });

  it('treats a lobby message from a key that does not lead as a hint only: the newcomer is keyed all the same', async () => {
    const h = harness();
    const [a, s] = await meeting(h, ['Alice', 'Sam']); // Sam: a participant the server runs
    if (!a || !s) throw new Error('setup');
    const n = await h.sim.join({ name: 'Nina' });
    inject(n, s.id, {
      type: 'admission',
      admission: createAdmission(
        { roster: headOf(h, a.id), leaderId: s.id, newcomer: n.agent.ownAnnouncement, decision: 'wait' },
        s.identity,
      ),
    });
    await h.sim.settle();
    expect(n.log.statuses.map((x) => x.state)).toEqual(['waiting-for-key', 'lobby', 'ok']);
    expect(n.log.statuses[1]?.by?.fingerprint).toBe(fingerprint(s.identity.publicKey));
    expect(h.sim.check()).toEqual([]);
  });

  it('denies a waiting newcomer: told so, never keyed, and kept out by the next leader too', async () => {
    const h = harness();
    const [a, b, c] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    if (!a || !b || !c) throw new Error('setup');
    a.agent.setLocked(true);
    await h.sim.settle();
    const n = await h.sim.join({ name: 'Nina' });
    await h.sim.settle();
    expect(a.agent.deny(n.id)).toEqual(OK);
    await h.sim.settle();
    expect(n.log.statuses.at(-1)).toEqual({ state: 'denied', by: { participantId: a.id, fingerprint: fingerprint(a.identity.publicKey) } });
    expect(a.log.lobby).toEqual({ locked: true, waiting: [] });
    expect(codeOfResult(n.agent.sendChat('let me in'))).toBe('NO_KEY');
    // Members remember the denial: the server replaying Nina's announcement gets nowhere.
    inject(b, n.id, { type: 'announce', announcement: n.agent.ownAnnouncement });
    await h.sim.settle();
    expect(codes(b)).toEqual(['PARTICIPANT_EXCLUDED']);
    b.log.errors.length = 0;
    // Alice leaves; Bob leads, inherits the lock, shows nobody waiting, and even unlocking does not add Nina.
    h.sim.exclude(n);
    h.sim.leave(a);
    await h.sim.settle();
    expect([b.agent.isLeader, b.agent.locked]).toEqual([true, true]);
    expect(b.log.lobby).toEqual({ locked: true, waiting: [] });
    expect(lastRoster(h, b.id).roster.excluded).toContain(n.id);
    b.agent.setLocked(false);
    await h.sim.settle();
    expect(rosterIds(c)).toEqual([b.id, c.id]);
    expect(keyedEpochs(n)).toEqual([]);
    expect(h.sim.check()).toEqual([]);
  });

  it('passes the lock and the waiting newcomers to the next leader when the leader leaves', async () => {
    const h = harness();
    const [a, b, c] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    if (!a || !b || !c) throw new Error('setup');
    a.agent.setLocked(true);
    await h.sim.settle();
    const n = await h.sim.join({ name: 'Nina' });
    await h.sim.settle();
    h.sim.leave(a);
    await h.sim.settle();
    expect(b.agent.locked).toBe(true);
    expect(b.log.lobby?.waiting.map((w) => w.participantId)).toEqual([n.id]);
    expect(n.log.state).toBe('lobby');
    expect(n.log.statuses.at(-1)?.by?.participantId).toBe(b.id); // the new leader told it to wait
    expect(keyedEpochs(n)).toEqual([]);
    b.agent.admit(n.id);
    await h.sim.settle();
    expect(rosterIds(c)).toEqual([b.id, c.id, n.id]);
    expect(h.sim.check()).toEqual([]);
  });
});

describe('removing a member', () => {
  it('rotates the others to a key the removed member never gets, and tells it why', async () => {
    const h = harness();
    const [a, b, c] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    if (!a || !b || !c) throw new Error('setup');
    const before = a.agent.currentEpoch;
    expect(a.agent.remove(c.id)).toEqual(OK);
    await h.sim.settle();
    expect(c.log.statuses.at(-1)).toMatchObject({ state: 'removed', reason: 'removed-by-leader' });
    expect(a.agent.currentEpoch).toBe(before + 1);
    expect(Math.max(...keyedEpochs(c))).toBe(before);
    expect(rosterIds(b)).toEqual([a.id, b.id]);
    h.sim.exclude(c);
    expect(h.sim.check()).toEqual([]);
    await wait(h, 10_000);
    expect(c.log.retired).toContain(before); // its old keys are erased after the grace period
  });

  it('keeps a removed participant that stays connected out; only a fresh join comes back, through the lobby when locked', async () => {
    const h = harness();
    const [a, b, c] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    if (!a || !b || !c) throw new Error('setup');
    a.agent.setLocked(true);
    a.agent.remove(c.id);
    await h.sim.settle();
    h.sim.exclude(c);
    // The server (or Carol's client) re-sends her announcement: refused, with or without the lock.
    inject(a, c.id, { type: 'announce', announcement: c.agent.ownAnnouncement });
    await h.sim.settle();
    expect(codes(a)).toEqual(['PARTICIPANT_EXCLUDED']);
    a.log.errors.length = 0;
    expect(a.log.lobby?.waiting).toEqual([]);
    // Carol rejoins (new connection, new participant ID): she waits like any newcomer.
    const c2 = await h.sim.join({ name: 'Carol' });
    await h.sim.settle();
    expect(c2.log.state).toBe('lobby');
    a.agent.admit(c2.id);
    await h.sim.settle();
    expect(rosterIds(b)).toEqual([a.id, b.id, c2.id]);
    expect(h.sim.check()).toEqual([]);
  });

  it('survives leader failover: the next leader keeps the exclusion', async () => {
    const h = harness();
    const [a, b, c, d] = await meeting(h, ['Alice', 'Bob', 'Carol', 'Dan']);
    if (!a || !b || !c || !d) throw new Error('setup');
    a.agent.remove(d.id);
    await h.sim.settle();
    h.sim.exclude(d);
    h.sim.leave(a);
    await h.sim.settle();
    expect(b.agent.isLeader).toBe(true);
    expect(lastRoster(h, b.id).roster.excluded).toEqual([d.id]);
    inject(b, d.id, { type: 'announce', announcement: d.agent.ownAnnouncement });
    await h.sim.settle();
    expect(codes(b)).toEqual(['PARTICIPANT_EXCLUDED']);
    b.log.errors.length = 0;
    const e = await h.sim.join({ name: 'Eve' });
    await h.sim.settle();
    expect(rosterIds(c)).toEqual([b.id, c.id, e.id]);
    expect(keyedEpochs(d).every((epoch) => epoch < b.agent.currentEpoch - 1)).toBe(true);
    expect(h.sim.check()).toEqual([]);
  });
});

/** The leader's latest roster as the server saw it. */
function headOf(h: Harness, leaderId: string): VerifiedRoster {
  return lastRoster(h, leaderId);
}

function codeOfResult(r: { ok: boolean; error?: { code: string } }): string | undefined {
  return r.ok ? 'ok' : r.error?.code;
}
