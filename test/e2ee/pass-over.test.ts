// Issue #12, I3: a participant that holds the link and is next in line as leader
// can stall every rotation by staying silent (a guest the server runs, or a
// modified client). Members that stopped for a change and hear nothing at all from
// the leader they expect pass it over after passOverMs, as if it had left
// (docs/protocol.md §5): the next in line leads, and the meeting re-keys without it.
// One that never acked at all does not even cost that: the leader lists it as
// unacked, and the succession skips it.

import { beforeAll, expect, it } from 'vitest';
import { TIMING } from '../../shared/e2ee/constants.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { advance, codes, harness, lastRoster, meeting, rosterIds, wait } from './harness.ts';

beforeAll(initCrypto);

it('members pass over a silent next leader and re-key without it', async () => {
  const h = harness({ seed: 5 });
  const [alice, mallory, bob, carol] = await meeting(h, ['Alice', 'Mallory', 'Bob', 'Carol']);
  const before = bob!.agent.currentEpoch;
  expect(rosterIds(bob!)).toEqual([alice!.id, mallory!.id, bob!.id, carol!.id]);
  // Mallory says nothing from now on: no roster, no keys, no commit.
  h.drop = (from) => from === mallory!.id;
  const leftAt = h.clock.now();
  h.sim.leave(alice!);

  // Bob and Carol stop (Mallory holds their epoch's key too, and Alice left with it)...
  await advance(h, TIMING.keyWaitMs + 200);
  expect(bob!.log.state).toBe('rekeying');
  expect(carol!.log.state).toBe('rekeying');
  // ...and once passOverMs have gone by without a word from Mallory, Bob leads without her.
  await advance(h, TIMING.passOverMs - TIMING.keyWaitMs - 400);
  expect(bob!.log.state, 'not passed over early').toBe('rekeying');
  await advance(h, TIMING.passOverMs + 1000 - (h.clock.now() - leftAt));
  for (const p of [bob!, carol!]) {
    expect(p.log.state, p.id).toBe('ok');
    expect(p.agent.currentEpoch).toBeGreaterThan(before);
    expect(rosterIds(p)).toEqual([bob!.id, carol!.id]);
    expect(codes(p)).toContain('LEADER_PASSED_OVER');
  }
  expect(bob!.log.roster?.securityCode).toBe(carol!.log.roster?.securityCode);
});

it('a leader whose roster arrived is not passed over while its key is withheld', async () => {
  const h = harness({ seed: 6 });
  const [alice, bob, carol, dave] = await meeting(h, ['Alice', 'Bob', 'Carol', 'Dave']);
  const before = bob!.agent.currentEpoch;
  // The server withholds Alice's key messages from Bob, and nothing else.
  h.drop = (_from, to, plain) => to === bob!.id && plain.includes('"t":"keys"');
  h.sim.leave(dave!);
  await wait(h, TIMING.passOverMs * 2);
  expect(alice!.agent.currentEpoch).toBeGreaterThan(before);
  expect(bob!.log.state).toBe('rekeying');
  expect(codes(bob!)).not.toContain('LEADER_PASSED_OVER');
  expect(rosterIds(carol!)).toContain(bob!.id);
});

it('a member that never acked is skipped at failover, so the meeting re-keys at once', async () => {
  const h = harness({ seed: 7 });
  const alice = (await meeting(h, ['Alice']))[0]!;
  // Mallory takes her keys and never acks one (her acks never leave her, whoever drops them).
  const mallory = await h.sim.join({ name: 'Mallory' });
  h.drop = (from, _to, plain) => from === mallory.id && plain.includes('"t":"ack"');
  await h.sim.settle();
  const bob = (await meeting(h, ['Bob']))[0]!;
  const carol = (await meeting(h, ['Carol']))[0]!;
  await wait(h, 2000);
  expect(rosterIds(bob)).toEqual([alice.id, mallory.id, bob.id, carol.id]);
  expect(lastRoster(h, alice.id).roster.unacked).toContain(mallory.id);
  const before = bob.agent.currentEpoch;
  const leftAt = h.clock.now();
  h.sim.leave(alice);
  // Bob leads at once (no pass-over wait), keeping Mallory as a member behind him.
  await advance(h, TIMING.keyWaitMs + 1000);
  for (const p of [bob, carol]) {
    expect(p.log.state, p.id).toBe('ok');
    expect(p.agent.currentEpoch).toBeGreaterThan(before);
    expect(rosterIds(p)).toEqual([bob.id, mallory.id, carol.id]);
    expect(codes(p)).not.toContain('LEADER_PASSED_OVER');
  }
  expect(h.clock.now() - leftAt).toBeLessThan(TIMING.passOverMs);
  expect(bob.log.roster?.securityCode).toBe(carol.log.roster?.securityCode);
});

it('a member stopped long before its leader left passes over a silent successor too', async () => {
  const h = harness({ seed: 8 });
  const [alice, mallory, bob, carol] = await meeting(h, ['Alice', 'Mallory', 'Bob', 'Carol']);
  // The server withholds Alice's key messages from Bob: he stops for the rotation Dave's join makes,
  // and Alice's roster reaching him means she acted, so he does not pass her over.
  h.drop = (from, to, plain) => from === alice!.id && to === bob!.id && plain.includes('"t":"keys"');
  await h.sim.join({ name: 'Dave' });
  await wait(h, TIMING.passOverMs + 2000);
  expect(bob!.log.state).toBe('rekeying');
  expect(codes(bob!)).not.toContain('LEADER_PASSED_OVER');
  // Alice leaves, and Mallory, next in line, says nothing from now on.
  h.drop = (from) => from === mallory!.id;
  const leftAt = h.clock.now();
  h.sim.leave(alice!);
  await advance(h, TIMING.passOverMs - 500);
  expect(bob!.log.state, 'not passed over early').toBe('rekeying');
  await advance(h, TIMING.passOverMs + 2000 - (h.clock.now() - leftAt));
  // Bob passes Mallory over on the clock that started when Alice left, leads, and Carol follows him.
  expect(codes(bob!)).toContain('LEADER_PASSED_OVER');
  expect(bob!.agent.isLeader).toBe(true);
  for (const p of [bob!, carol!]) {
    expect(p.log.state, p.id).toBe('ok');
    expect(rosterIds(p), p.id).not.toContain(mallory!.id);
  }
  expect(bob!.log.roster?.securityCode).toBe(carol!.log.roster?.securityCode);
});
