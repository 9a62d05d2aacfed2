// Issue #12, I3: a member that takes over as leader when its leader leaves may
// have learned (from a commit the server let through) of epochs of that leader
// it never got. Those epochs will not come: the one it makes itself replaces
// them, and it sends under it, instead of staying stopped for an epoch number
// nobody will ever send (docs/protocol.md §5, failover). Seed 5738 of the
// adversarial schedules stayed stuck so.

import { beforeAll, expect, it } from 'vitest';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { codes, harness, meeting, rosterIds, wait } from './harness.ts';

beforeAll(initCrypto);

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
