// Roster deltas and per-member key messages (issue #15 item 3): a continuing
// member receives what changed and its own key entry, so its share of a
// rotation does not grow with the meeting; whoever may lack the previous
// roster gets it in full; nothing a delta says is taken on its word.

import { beforeAll, describe, expect, it } from 'vitest';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { applyRosterDelta, rosterDelta, type RosterDelta } from '../../shared/e2ee/roster-delta.ts';
import { createRoster, rosterHash, verifyRoster, type VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { decodeMessage, encodeMessage } from '../../shared/e2ee/wire.ts';
import type { SimParticipant } from '../../harness/sim.ts';
import { CTX, flipped, participant, participants, rosterOf, type TestParticipant } from './fixtures.ts';
import { advance, codes, harness, inject, lastRelayed, lastRoster, meeting, rosterIds, wait, type Harness } from './harness.ts';

beforeAll(initCrypto);

const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

describe('applyRosterDelta', () => {
  let alice: TestParticipant, bob: TestParticipant, carol: TestParticipant, dave: TestParticipant;
  let head: VerifiedRoster, next: VerifiedRoster, delta: RosterDelta;
  beforeAll(() => {
    [alice, bob, carol, dave] = participants('alice', 'bob', 'carol', 'dave');
    head = rosterOf([alice!, bob!, carol!], 4, undefined, undefined, { excluded: ['mallory'] });
    // Carol is removed and Dave joins; Mallory's exclusion is dropped and Carol's added.
    next = rosterOf([alice!, bob!, dave!], 5, head, undefined, { locked: true, excluded: ['carol'] });
    delta = rosterDelta(head, next)!;
  });

  it('rebuilds the full signed roster from the head, and the rebuilt one verifies as the full one does', () => {
    expect(delta).toMatchObject({ removed: ['carol'], excludedAdded: ['carol'], excludedDropped: ['mallory'], locked: true });
    expect(delta.added.map((m) => m.participantId)).toEqual(['dave']);
    const rebuilt = applyRosterDelta(head, delta);
    if (!rebuilt.ok) throw rebuilt.error;
    expect(rebuilt.value).toEqual(next.roster);
    expect(rosterHash(rebuilt.value)).toEqual(next.hash);
    const check = { ...CTX, from: 'alice', self: bob.announcement, head, departed: new Set<string>() };
    expect(codeOf(verifyRoster(rebuilt.value, check))).toBe('ok');
    // On the wire it is small: no continuing member's entry travels again.
    expect(encodeMessage({ type: 'delta', delta }).length).toBeLessThan(
      encodeMessage({ type: 'roster', roster: next.roster }).length * 0.7,
    );
    const decoded = decodeMessage(encodeMessage({ type: 'delta', delta }));
    expect(decoded.ok && decoded.value).toEqual({ type: 'delta', delta });
  });

  it('refuses a delta that does not rebuild to the roster its leader signed, with ROSTER_DELTA_MISMATCH', () => {
    expect(codeOf(applyRosterDelta(head, { ...delta, hash: flipped(delta.hash) }))).toBe('ROSTER_DELTA_MISMATCH');
    // Dropping an addition (the server hides a newcomer from one member) or an exclusion changes the roster.
    expect(codeOf(applyRosterDelta(head, { ...delta, added: [] }))).toBe('ROSTER_DELTA_MISMATCH');
    expect(codeOf(applyRosterDelta(head, { ...delta, excludedAdded: [] }))).toBe('ROSTER_DELTA_MISMATCH');
    expect(codeOf(applyRosterDelta(head, { ...delta, locked: false }))).toBe('ROSTER_DELTA_MISMATCH');
  });

  it('refuses a delta that removes someone the head does not list, or drops an exclusion it lacks', () => {
    expect(codeOf(applyRosterDelta(head, { ...delta, removed: [...delta.removed, 'nobody'] }))).toBe('ROSTER_DELTA_MISMATCH');
    expect(codeOf(applyRosterDelta(head, { ...delta, excludedDropped: ['nobody'] }))).toBe('ROSTER_DELTA_MISMATCH');
  });

  it('refuses a delta that follows another roster than the head with ROSTER_CHAIN_BROKEN (the full roster is needed)', () => {
    const other = rosterOf([alice, bob, carol], 4);
    expect(codeOf(applyRosterDelta(other, delta))).toBe('ROSTER_CHAIN_BROKEN');
  });

  it('has no delta for a roster of another chain, or one that reorders exclusions (the full roster goes instead)', () => {
    expect(rosterDelta(rosterOf([alice, bob, carol], 4), next)).toBeNull();
    const two = rosterOf([alice, bob], 6, next, undefined, { excluded: ['x', 'y'] });
    const swapped = rosterOf([alice, bob], 7, two, undefined, { excluded: ['y', 'x'] });
    expect(rosterDelta(two, swapped)).toBeNull();
  });
});

// ------------------------------------------------------------------ agents

/** Characters `p` received (addressed to it, or broadcast by someone else) from traffic index `since` on, by message type. */
function receivedBy(h: Harness, p: SimParticipant, since: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of h.traffic.slice(since)) {
    if (t.from === p.id || (t.to !== null && t.to !== p.id)) continue;
    const type = /"t":"([a-z]+)"/.exec(t.plain)?.[1] ?? '?';
    out.set(type, (out.get(type) ?? 0) + t.payload.length);
  }
  return out;
}

const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe('what a member receives per rotation', () => {
  it('a continuing member gets a delta and its own key entry, the same whatever the meeting size; a newcomer the full roster', async () => {
    const perRotation: number[] = [];
    for (const size of [4, 12]) {
      const h = harness({ seed: 80 + size });
      const members = await meeting(
        h,
        Array.from({ length: size }, (_, i) => `P${i}`),
      );
      const bob = members[1]!;
      const since = h.traffic.length;
      const newcomer = await h.sim.join({ name: 'Newcomer' });
      await h.sim.settle();
      expect(h.sim.check()).toEqual([]);
      const got = receivedBy(h, bob, since);
      expect([...got.keys()].sort()).toEqual(['announce', 'commit', 'delta', 'keys']);
      perRotation.push(total(got));
      // Its key message holds its own entry alone.
      expect(lastRelayed(h, 'keys', members[0]!.id, bob.id).message.keys.entries.map((e) => e.to)).toEqual([bob.id]);
      // The newcomer gets the full roster, addressed to it.
      const full = h.traffic.slice(since).filter((t) => t.plain.includes('"t":"roster"'));
      expect(full.map((t) => t.to)).toEqual([newcomer.id]);
      expect(rosterIds(newcomer)).toEqual(rosterIds(bob));
    }
    // Three times the members, and a continuing member receives the same (within the size of IDs' encodings).
    expect(perRotation[1]! - perRotation[0]!).toBeLessThan(200);
    expect(perRotation[1]!).toBeLessThan(4096);
  });

  it('a member whose ack of the last epoch never came gets the next roster in full, addressed to it, and catches up', async () => {
    const h = harness({ seed: 91 });
    const [alice, bob] = (await meeting(h, ['Alice', 'Bob', 'Carol'])) as [SimParticipant, SimParticipant];
    // The server withholds from Bob the delta (and keys) of Dave's join: he cannot ack it.
    h.drop = (from, to, plain) => to === bob.id && from === alice.id && /"t":"(delta|keys|commit)"/.test(plain);
    await h.sim.join({ name: 'Dave' });
    await advance(h, 500);
    h.drop = () => false;
    // (The epoch commits on its timeout, without Bob's ack.)
    await advance(h, 1_500);
    const since = h.traffic.length;
    await h.sim.join({ name: 'Erin' });
    await advance(h, 100);
    // Alice's next epoch: the full roster to Bob (who may lack the head), without his asking for it.
    const next = h.traffic.slice(since);
    const fullToBob = next.findIndex((t) => t.to === bob.id && t.plain.includes('"t":"roster"'));
    const asked = next.findIndex((t) => t.from === bob.id && t.plain.includes('"t":"resend"'));
    expect(fullToBob).toBeGreaterThanOrEqual(0);
    expect(asked < 0 || asked > fullToBob).toBe(true);
    await wait(h, 5_000);
    expect(bob.log.state).toBe('ok');
    expect(bob.agent.currentEpoch).toBe(alice.agent.currentEpoch);
    expect(bob.log.roster?.securityCode).toBe(alice.log.roster?.securityCode);
  });

  it('a member given a delta that does not follow its roster asks its leader for the full one (ROSTER_CHAIN_BROKEN)', async () => {
    const h = harness({ seed: 93 });
    const [alice, bob, carol] = (await meeting(h, ['Alice', 'Bob', 'Carol'])) as [SimParticipant, SimParticipant, SimParticipant];
    const head = lastRoster(h, alice.id);
    // A delta of Alice's that follows another roster than Bob's (the server replays one of a later epoch, say).
    const x = participant('x').identity;
    const skipped = createRoster({ ...head.roster, epoch: head.roster.epoch + 1, prevHash: flipped(head.hash) }, x);
    const members = head.roster.members.filter((m) => m.participantId !== carol.id);
    const d = rosterDelta(skipped, createRoster({ ...head.roster, epoch: head.roster.epoch + 2, prevHash: skipped.hash, members }, x))!;
    const since = h.traffic.length;
    inject(bob, alice.id, { type: 'delta', delta: d });
    await h.sim.settle();
    expect(codes(bob)).toContain('ROSTER_CHAIN_BROKEN');
    expect(h.traffic.slice(since).some((t) => t.from === bob.id && t.to === alice.id && t.plain.includes('"t":"resend"'))).toBe(true);
  });

  it('a delta the server alters or signs itself changes nothing: the member keeps its roster', async () => {
    const h = harness({ seed: 92 });
    const [alice, bob, carol] = (await meeting(h, ['Alice', 'Bob', 'Carol'])) as [SimParticipant, SimParticipant, SimParticipant];
    const head = lastRoster(h, alice.id);
    h.drop = (from, to, plain) => to === bob.id && from === alice.id && /"t":"(delta|keys|commit)"/.test(plain);
    h.sim.leave(carol);
    await advance(h, 200);
    h.drop = () => false;
    const real = lastRelayed(h, 'delta', alice.id).message.delta;
    // Hides Carol's removal from Bob: the delta no longer rebuilds to what Alice signed.
    inject(bob, alice.id, { type: 'delta', delta: { ...real, removed: [] } });
    // A successor that rebuilds exactly, signed by a key that is not Alice's.
    const members = head.roster.members.filter((m) => m.participantId !== carol.id);
    const unacked = head.roster.unacked.filter((id) => id !== carol.id);
    const fields = { ...head.roster, epoch: real.epoch, prevHash: head.hash, members, unacked };
    const signed = createRoster(fields, participant('mallory').identity);
    inject(bob, alice.id, { type: 'delta', delta: rosterDelta(head, signed)! });
    await h.sim.settle();
    expect(codes(bob).slice(0, 2)).toEqual(['ROSTER_DELTA_MISMATCH', 'BAD_SIGNATURE']);
    // The genuine roster still reaches him (he asks for it, having heard that Carol left).
    await wait(h, 5_000);
    expect(bob.log.roster?.securityCode).toBe(alice.log.roster?.securityCode);
  });
});
