// Issue #12, finding 2: a member that misses one key message used to keep
// sending under the old epoch forever, so a removed (or departed) participant
// kept reading it. The stop rule (protocol.md §7a): within 2 s of learning of a
// change, a member sends under the new epoch or not at all, asks its leader for
// a resend, and resumes as soon as the key arrives.

import { beforeAll, describe, expect, it } from 'vitest';
import type { RekeyReason, StopSendingEvent } from '../../shared/e2ee/events.ts';
import { TIMING } from '../../shared/e2ee/constants.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { createResendRequest } from '../../shared/e2ee/resend.ts';
import { decodeMessage, encodeMessage } from '../../shared/e2ee/wire.ts';
import type { SimParticipant } from '../../harness/sim.ts';
import { advance, codes, harness, inject, meeting, wait, type Harness } from './harness.ts';

beforeAll(initCrypto);

/** The bound: nobody outside the roster reads media sent this long after the member learned of the change. */
const BOUND_MS = 2000;

interface Watched {
  stops: (StopSendingEvent & { at: number })[];
  /** When the member first heard of the change (a notice or message delivered to its agent). */
  learnedAt?: number;
}

/** Records Bob's stop-sending events and when the first sign of a change reached him. */
function watch(h: Harness, p: SimParticipant, sign: (kind: 'left' | 'relay', payload: string) => boolean): Watched {
  const w: Watched = { stops: [] };
  p.agent.on('stop-sending', (e) => w.stops.push({ ...e, at: h.clock.now() }));
  const { agent } = p;
  const onRelay = agent.onRelay.bind(agent);
  const onPeerLeft = agent.onPeerLeft.bind(agent);
  agent.onRelay = (from, payload) => {
    const plain = p.link.open(from, payload);
    if (w.learnedAt === undefined && plain.ok && sign('relay', plain.value)) w.learnedAt = h.clock.now();
    onRelay(from, payload);
  };
  agent.onPeerLeft = (id) => {
    if (w.learnedAt === undefined && sign('left', id)) w.learnedAt = h.clock.now();
    onPeerLeft(id);
  };
  return w;
}

const isType = (payload: string, ...types: string[]): boolean => types.some((t) => payload.includes(`"t":"${t}"`));

function expectStoppedInTime(bob: SimParticipant, w: Watched, oldEpoch: number, reasons: RekeyReason[], stillStopped = true): void {
  expect(w.learnedAt).toBeDefined();
  const stop = w.stops[0];
  expect(stop, 'Bob stops sending').toBeDefined();
  expect(stop!.at - w.learnedAt!).toBeLessThanOrEqual(BOUND_MS);
  expect(stop!.epoch).toBe(oldEpoch);
  expect(stop!.waitingFor).toBeGreaterThan(oldEpoch);
  expect(reasons).toContain(stop!.reason);
  expect(bob.log.statuses.find((s) => s.state === 'rekeying')).toMatchObject({ reason: stop!.reason });
  if (!stillStopped) return;
  // The status the controller shows, after which it holds no send key.
  expect(bob.log.state).toBe('rekeying');
  expect(bob.log.statuses.at(-1)).toMatchObject({ state: 'rekeying', reason: stop!.reason });
  // Never a send key for the old epoch again.
  expect(bob.log.timeline.filter((e) => e.event === 'send-key' && e.t > stop!.at)).toEqual([]);
  expect(bob.agent.sendChat('hello').ok).toBe(false);
}

describe('a member that misses a key message stops sending within 2 s', () => {
  it('the leader removes Mallory and the new key never reaches Bob: Bob stops, says why, and keeps asking', async () => {
    const h = harness({ seed: 21 });
    const [alice, bob, mallory] = await meeting(h, ['Alice', 'Bob', 'Mallory']);
    const oldEpoch = bob!.agent.currentEpoch;
    expect(mallory!.agent.currentEpoch).toBe(oldEpoch);
    const w = watch(h, bob!, (kind, payload) => kind === 'relay' && isType(payload, 'roster', 'delta', 'commit'));
    // The server withholds every key message from Bob from now on (resends too).
    h.drop = (_from, to, payload) => to === bob!.id && isType(payload, 'keys');
    expect(alice!.agent.remove(mallory!.id).ok).toBe(true);
    h.sim.exclude(mallory!);
    await wait(h, 15_000);

    expect(alice!.agent.currentEpoch).toBeGreaterThan(oldEpoch);
    expectStoppedInTime(bob!, w, oldEpoch, ['newer-roster', 'unknown-commit']);
    expect(bob!.agent.currentEpoch).toBe(oldEpoch);
    // Bob asked Alice for the key, a bounded number of times, and each request reached her.
    const requests = h.traffic.filter((t) => t.from === bob!.id && isType(t.plain, 'resend'));
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.length).toBeLessThanOrEqual(TIMING.resendAttempts);
    expect(requests.every((t) => t.to === alice!.id)).toBe(true);
    expect(codes(alice!)).toEqual([]);
  });

  it('Mallory leaves and the server hides the new roster, key and commit from Bob: the leave alone makes him stop', async () => {
    const h = harness({ seed: 22 });
    const [, bob, , mallory] = await meeting(h, ['Alice', 'Bob', 'Carol', 'Mallory']);
    const oldEpoch = bob!.agent.currentEpoch;
    const w = watch(h, bob!, (kind, id) => kind === 'left' && id === mallory!.id);
    h.drop = (_from, to, payload) => to === bob!.id && isType(payload, 'roster', 'delta', 'keys', 'commit');
    h.sim.leave(mallory!);
    // Short of passOverMs: hearing nothing from Alice that long, he would pass her over (pass-over.test.ts).
    await advance(h, TIMING.passOverMs - 500);

    expectStoppedInTime(bob!, w, oldEpoch, ['member-left']);
    expect(w.stops[0]!.waitingFor).toBe(oldEpoch + 1);
  });

  it('a leave Carol hears of while she waits for her first commit makes her stop once she starts sending', async () => {
    const h = harness({ seed: 24 });
    const [, mallory] = await meeting(h, ['Alice', 'Mallory']);
    let carol: SimParticipant | undefined;
    let toldAt: number | undefined;
    // Keyed, not yet committed: the server tells Carol alone that Mallory left (the leader never
    // hears of it, so no new epoch comes). Mallory holds the epoch Carol is about to send under.
    h.drop = (from, _to, payload) => {
      if (carol && toldAt === undefined && from === carol.id && isType(payload, 'ack')) {
        toldAt = h.clock.now();
        carol.agent.onPeerLeft(mallory!.id);
      }
      return false;
    };
    const stops: (StopSendingEvent & { at: number })[] = [];
    carol = await h.sim.join({ name: 'Carol' });
    carol.agent.on('stop-sending', (e) => stops.push({ ...e, at: h.clock.now() }));
    await wait(h, 15_000);

    expect(toldAt).toBeDefined();
    const epoch = carol.agent.currentEpoch;
    expect(epoch).toBe(mallory!.agent.currentEpoch);
    const firstSendKey = carol.log.timeline.find((e) => e.event === 'send-key');
    expect(firstSendKey, 'Carol started sending under the epoch Mallory holds').toBeDefined();
    expect(stops[0], 'Carol stops sending').toBeDefined();
    expect(stops[0]!.at - firstSendKey!.t).toBeLessThanOrEqual(BOUND_MS);
    expect(stops[0]).toMatchObject({ epoch, waitingFor: epoch + 1, reason: 'member-left' });
    expect(carol.log.state).toBe('rekeying');
  });

  it('Bob hears that Mallory left before the epoch that still lists her reaches him: he stops after switching to it', async () => {
    const h = harness({ seed: 28 });
    const [, bob, mallory] = await meeting(h, ['Alice', 'Bob', 'Mallory']);
    // The server holds back from Bob the epoch Carol's join makes (Mallory is in it) ...
    const held: { from: string; payload: string }[] = [];
    h.drop = (from, to, payload) =>
      to === bob!.id && isType(payload, 'roster', 'delta', 'keys', 'commit') && held.push({ from, payload }) > 0;
    await h.sim.join({ name: 'Carol' });
    await wait(h, 2000);
    const epoch = bob!.agent.currentEpoch + 1;
    // ... tells Bob alone that Mallory left, then hands him that epoch: she holds its key.
    bob!.agent.onPeerLeft(mallory!.id);
    for (const m of held) inject(bob!, m.from, m.payload);
    const stops: (StopSendingEvent & { at: number })[] = [];
    bob!.agent.on('stop-sending', (e) => stops.push({ ...e, at: h.clock.now() }));
    h.drop = () => false;
    await wait(h, 5000);

    const switched = bob!.log.timeline.find((e) => e.event === 'send-key' && e.epoch === epoch);
    expect(switched, 'Bob sends under the epoch Mallory holds').toBeDefined();
    expect(stops[0], 'and stops').toMatchObject({ epoch, waitingFor: epoch + 1, reason: 'member-left' });
    expect(stops[0]!.at - switched!.t).toBeLessThanOrEqual(BOUND_MS);
  });

  it('Bob learns that Mallory left, then takes over from the leader: the deadline from her leave still binds him', async () => {
    const h = harness({ seed: 29 });
    const [alice, bob, , mallory] = await meeting(h, ['Alice', 'Bob', 'Carol', 'Mallory']);
    const oldEpoch = bob!.agent.currentEpoch;
    const w = watch(h, bob!, (kind, id) => kind === 'left' && id === mallory!.id);
    // Alice's epoch without Mallory never reaches Bob, and once he leads no ack reaches him (he commits on timeout).
    h.drop = (from, to, payload) =>
      to === bob!.id && ((from === alice!.id && isType(payload, 'roster', 'delta', 'keys', 'commit')) || isType(payload, 'ack'));
    h.sim.leave(mallory!);
    await advance(h, 1000);
    h.sim.leave(alice!);
    await wait(h, 10_000);

    expect(bob!.agent.isLeader).toBe(true);
    const next = bob!.log.timeline.find((e) => e.event === 'send-key' && e.epoch > oldEpoch);
    expect(next, 'Bob sends under an epoch without Mallory').toBeDefined();
    expect(next!.t - w.learnedAt!).toBeLessThanOrEqual(BOUND_MS);
    expect(bob!.log.timeline.filter((e) => e.event === 'send-key' && e.epoch === next!.epoch)).toHaveLength(1);
  });

  it('stopped for the epoch after Dave left, Bob does not resume under the one Dave holds when its commit comes late', async () => {
    const h = harness({ seed: 30 });
    const [, bob] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    // Bob gets the key of the epoch Dave's join makes, but no commit, and no later key.
    const held: { from: string; payload: string }[] = [];
    let keys = 0;
    h.drop = (from, to, payload) =>
      to === bob!.id && ((isType(payload, 'commit') && held.push({ from, payload }) > 0) || (isType(payload, 'keys') && keys++ > 0));
    const dave = await h.sim.join({ name: 'Dave' });
    await advance(h, 600);
    const daveEpoch = bob!.log.timeline.find((e) => e.event === 'receive-keys')!.epoch;
    h.sim.leave(dave);
    await wait(h, 3000);
    expect(bob!.log.state).toBe('rekeying');
    const stopped = h.clock.now();
    h.drop = () => false;
    for (const m of held) inject(bob!, m.from, m.payload);
    await advance(h, 500);

    expect(bob!.log.state).toBe('rekeying');
    expect(bob!.log.timeline.filter((e) => e.event === 'send-key' && e.t >= stopped && e.epoch <= daveEpoch)).toEqual([]);
  });

  it('the leader leaves and its successor keys everyone but Bob: Bob stops', async () => {
    const h = harness({ seed: 23 });
    const [alice, , bob] = await meeting(h, ['Alice', 'Carol', 'Bob', 'Dave']);
    const oldEpoch = bob!.agent.currentEpoch;
    const w = watch(h, bob!, (kind, id) => kind === 'left' && id === alice!.id);
    h.drop = (_from, to, payload) => to === bob!.id && isType(payload, 'keys');
    h.sim.leave(alice!);
    await wait(h, 15_000);

    expectStoppedInTime(bob!, w, oldEpoch, ['member-left', 'newer-roster', 'unknown-commit']);
  });
});

describe('a resend request gets the key to the member, which resumes sending', () => {
  it('the first key message to Bob is lost; his request brings it and he sends under the new epoch', async () => {
    const h = harness({ seed: 24 });
    const [alice, bob, mallory] = await meeting(h, ['Alice', 'Bob', 'Mallory']);
    const oldEpoch = bob!.agent.currentEpoch;
    const w = watch(h, bob!, (kind, payload) => kind === 'relay' && isType(payload, 'roster', 'delta'));
    let lost = 0;
    h.drop = (_from, to, payload) => to === bob!.id && isType(payload, 'keys') && lost++ === 0;
    alice!.agent.remove(mallory!.id);
    h.sim.exclude(mallory!);
    await wait(h, 15_000);

    expectStoppedInTime(bob!, w, oldEpoch, ['newer-roster', 'unknown-commit'], false);
    // The resend arrived and Bob sends under Alice's epoch again, with the key Alice holds.
    expect(bob!.log.state).toBe('ok');
    expect(bob!.agent.currentEpoch).toBe(alice!.agent.currentEpoch);
    const resumed = bob!.log.timeline.find((e) => e.event === 'send-key' && e.epoch === alice!.agent.currentEpoch);
    expect(resumed!.t).toBeGreaterThan(w.stops[0]!.at);
    expect(h.traffic.filter((t) => t.from === bob!.id && isType(t.plain, 'resend'))).toHaveLength(1);
    expect(bob!.agent.sendChat('back').ok).toBe(true);
    // Only the commit Bob could not use is reported; the resent roster and commit are not errors.
    expect(codes(bob!)).toEqual(['UNKNOWN_EPOCH']);
    bob!.log.errors.length = 0;
    expect(h.sim.check()).toEqual([]);
  });

  it('the leader answers a member at most once per interval, to that member only, and ignores non-members', async () => {
    const h = harness({ seed: 25 });
    const [alice, bob, carol] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    const { meetingId, instanceId } = alice!.agent.ownAnnouncement;
    // An old request (have 0, an old nonce): answered with what the leader sent, never a new epoch.
    const nonce = new Uint8Array(16).fill(5);
    const request = createResendRequest({ meetingId, instanceId, participantId: bob!.id, have: 0, nonce }, bob!.identity);
    const before = h.traffic.length;
    for (let i = 0; i < 5; i++) inject(alice!, bob!.id, { type: 'resend', resend: request });
    await h.sim.settle();
    const answers = h.traffic.slice(before).filter((t) => t.from === alice!.id);
    expect(answers.map((t) => [t.to, JSON.parse(t.plain).t])).toEqual([
      [bob!.id, 'roster'],
      [bob!.id, 'keys'],
      [bob!.id, 'commit'],
    ]);
    expect(codes(alice!).filter((c) => c === 'RATE_LIMITED')).toHaveLength(4);
    // Replayed from someone else, or signed by someone else: refused.
    inject(alice!, carol!.id, { type: 'resend', resend: request });
    const forged = createResendRequest({ meetingId, instanceId, participantId: carol!.id, have: 0, nonce }, bob!.identity);
    inject(alice!, carol!.id, { type: 'resend', resend: forged });
    await h.sim.settle();
    expect(codes(alice!).slice(-2)).toEqual(['SENDER_MISMATCH', 'BAD_SIGNATURE']);
    // Bob already had the epoch: nothing changes for him.
    expect(bob!.log.state).toBe('ok');
  });

  it('the resend request is a validated wire message', () => {
    const good = encodeMessage({
      type: 'resend',
      resend: { meetingId: 'm', instanceId: 'i', participantId: 'bob', have: 3, nonce: new Uint8Array(16), signature: new Uint8Array(64) },
    });
    const decoded = decodeMessage(good);
    expect(decoded.ok && decoded.value.type === 'resend' && decoded.value.resend.have).toBe(3);
    for (const bad of [{ have: -1 }, { have: 2 ** 48 }, { have: '3' }, { id: 'no spaces' }, { sig: 'AAAA' }, { nonce: 'AAAA' }]) {
      const r = decodeMessage(JSON.stringify({ ...JSON.parse(good), ...bad }));
      expect(r.ok ? 'accepted' : r.error.code).toBe('MALFORMED');
    }
  });
});

describe('no false stop in honest churn', () => {
  it('joins, leaves, removals and a leader departure with every key delivered: nobody ever stops sending', async () => {
    const h = harness({ seed: 26 });
    const people = await meeting(h, ['Alice', 'Bob', 'Carol', 'Dave']);
    const stops: string[] = [];
    const listen = (p: SimParticipant): void => void p.agent.on('stop-sending', () => stops.push(p.name));
    people.forEach(listen);
    listen(await h.sim.join({ name: 'Erin' }));
    await h.sim.settle();
    h.sim.leave(people[2]!);
    await h.sim.settle();
    people[0]!.agent.remove(people[3]!.id);
    h.sim.exclude(people[3]!);
    await h.sim.settle();
    h.sim.leave(people[0]!); // the leader
    await h.sim.settle();
    listen(await h.sim.join({ name: 'Frank' }));
    await wait(h, 10_000);

    expect(stops).toEqual([]);
    for (const p of h.sim.members) expect(p.log.statuses.map((s) => s.state)).not.toContain('rekeying');
    expect(h.sim.check()).toEqual([]);
  });

  it('a member that never acks makes the leader commit on timeout: the others still never stop', async () => {
    const h = harness({ seed: 27 });
    const [alice, bob, carol] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    const stops: string[] = [];
    for (const p of [alice!, bob!, carol!]) p.agent.on('stop-sending', () => stops.push(p.name));
    h.drop = (from, _to, payload) => from === carol!.id && isType(payload, 'ack');
    await h.sim.join({ name: 'Dave' });
    await wait(h, 10_000);

    expect(stops).toEqual([]);
    expect(bob!.agent.currentEpoch).toBe(alice!.agent.currentEpoch);
    expect(codes(bob!)).toEqual([]);
  });
});
