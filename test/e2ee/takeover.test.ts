// Issue #12, I3: a member that takes over as leader when its leader leaves may
// have learned (from a commit the server let through) of epochs of that leader
// it never got. Those epochs will not come: the one it makes itself replaces
// them, and it sends under it, instead of staying stopped for an epoch number
// nobody will ever send (docs/protocol.md §5, failover). Seed 5738 of the
// adversarial schedules stayed stuck so. And two members whose heads differ
// can each name the other as next leader: the one asked by the other takes
// over (seed 4227).

import { beforeAll, expect, it } from 'vitest';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { expectedLeader, type Roster } from '../../shared/e2ee/roster.ts';
import type { SimParticipant } from '../../harness/sim.ts';
import { advance, codes, harness, lastRoster, meeting, rosterIds, wait } from './harness.ts';

beforeAll(initCrypto);

/** The newest roster a member verified (its head), which decides whom it expects to lead next. */
const headOf = (p: SimParticipant): Roster => (p.agent as unknown as { epochs: { head: { roster: Roster } } }).epochs.head.roster;

it('a successor that learned of two epochs it never got sends under the epoch it makes when its leader leaves', async () => {
  const h = harness({ seed: 31 });
  const [alice, bob] = await meeting(h, ['Alice', 'Bob']);
  const start = bob!.agent.currentEpoch;
  // The server lets only Alice's commits through to Bob: he learns of her next epochs and gets none of them.
  h.drop = (from, to, plain) => from === alice!.id && to === bob!.id && !plain.includes('"t":"commit"');
  const carol = await h.sim.join({ name: 'Carol' });
  await wait(h, 2000);
  h.sim.leave(carol);
  await wait(h, 3000);
  expect(alice!.agent.currentEpoch).toBe(start + 2);
  expect(bob!.agent.currentEpoch).toBe(start);
  expect(bob!.log.state).toBe('rekeying');
  expect(codes(bob!)).toContain('UNKNOWN_EPOCH');

  h.drop = () => false;
  h.sim.leave(alice!);
  await wait(h, 1000);
  expect(bob!.agent.isLeader).toBe(true);
  expect(bob!.log.state).toBe('ok');
  expect(bob!.agent.currentEpoch).toBeGreaterThan(start);
  expect(rosterIds(bob!)).toEqual([bob!.id]);

  // And he leads: a newcomer is keyed onto his chain.
  const dave = await h.sim.join({ name: 'Dave' });
  await wait(h, 2000);
  for (const p of [bob!, dave]) {
    expect(p.log.state, p.id).toBe('ok');
    expect(rosterIds(p), p.id).toEqual([bob!.id, dave.id]);
  }
  expect(dave.agent.currentEpoch).toBe(bob!.agent.currentEpoch);
  expect(dave.log.roster?.securityCode).toBe(bob!.log.roster?.securityCode);
});

it('two members whose heads each name the other as next leader do not wait for each other forever', async () => {
  const h = harness({ seed: 32 });
  const [alice] = await meeting(h, ['Alice']);
  // Bob and Carol join together; Bob's ack never reaches Alice, so her next roster lists him as unacked.
  let bobId = '';
  let carolId = '';
  h.drop = (from, to, plain) => from === bobId && to === alice!.id && plain.includes('"t":"ack"');
  const bob = await h.sim.join({ name: 'Bob' });
  bobId = bob.id;
  const carol = await h.sim.join({ name: 'Carol' });
  carolId = carol.id;
  await wait(h, 3000);
  const first = lastRoster(h, alice!.id).roster;
  expect(first.unacked).toEqual(expect.arrayContaining([bobId]));
  // Dave joins, and the server withholds everything of that epoch from Carol; Alice leaves before she
  // commits it (she waits for Carol's ack), so Dave has not sent yet.
  h.drop = (from, to, plain) =>
    (from === bobId && to === alice!.id && plain.includes('"t":"ack"')) || (from === alice!.id && to === carolId);
  const dave = await h.sim.join({ name: 'Dave' });
  await advance(h, 800);
  expect(dave.agent.currentEpoch).toBe(0);
  // Carol's head lists Bob and Carol as unacked, so she names Bob; Bob's lists Bob and Dave, so he names Carol.
  const carolHead = headOf(carol);
  const bobHead = headOf(bob);
  expect(bobHead.epoch).toBeGreaterThan(carolHead.epoch);
  expect(expectedLeader(carolHead, new Set([alice!.id]))?.participantId).toBe(bobId);
  expect(expectedLeader(bobHead, new Set([alice!.id]))?.participantId).toBe(carolId);

  h.drop = () => false;
  h.sim.leave(alice!);
  await wait(h, 5000);
  for (const p of [bob, carol, dave]) {
    expect(p.log.state, p.id).toBe('ok');
    expect(p.agent.currentEpoch, p.id).toBe(bob.agent.currentEpoch);
    expect(p.log.roster?.securityCode, p.id).toBe(bob.log.roster?.securityCode);
  }
  expect(bob.agent.isLeader).toBe(true);
  expect(rosterIds(bob).sort()).toEqual([bobId, carolId, dave.id].sort());
  // Only the one the server listed first took over: Carol, asked by Bob too, never led a chain of her own.
  expect(() => lastRoster(h, carolId)).toThrow(/no roster relayed/);
});
