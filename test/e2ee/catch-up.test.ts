// Liveness after the server stops interfering (issue #12, I3 of the adversarial
// schedules): each case is one the schedules found stuck for good.

import { beforeAll, describe, expect, it } from 'vitest';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { encodeMessage } from '../../shared/e2ee/wire.ts';
import type { SimParticipant } from '../../harness/sim.ts';
import { advance, codes, harness, lastRelayed, meeting, rosterIds, wait } from './harness.ts';

// advance() lets exactly that much virtual time pass (wait() runs every timer there is, retries included).

beforeAll(initCrypto);

const isType = (plain: string, ...types: string[]) => types.some((t) => plain.includes(`"t":"${t}"`));

describe('a member that missed rosters catches up on the chain', () => {
  it('misses two epochs, then asks the leader, who sends the rosters between: it ends on the leader’s epoch', async () => {
    const h = harness({ seed: 71 });
    const [alice, bob] = (await meeting(h, ['Alice', 'Bob'])) as [SimParticipant, SimParticipant];
    // Everything the leader sends Bob is withheld while two more people join.
    h.drop = (from, to) => to === bob.id && from === alice.id;
    await h.sim.join({ name: 'Carol' });
    await advance(h, 2_000);
    await h.sim.join({ name: 'Dave' });
    await advance(h, 2_000);
    expect(bob.agent.currentEpoch).toBeLessThan(alice.agent.currentEpoch);
    h.drop = () => false;
    // Bob learned of nothing (the server hid it all). The next change reaches him, does not chain to
    // what he has, and he asks for what he missed.
    await h.sim.join({ name: 'Eve' });
    await advance(h, 3_000);
    expect(codes(bob)).toContain('ROSTER_CHAIN_BROKEN');
    expect(bob.log.state).toBe('ok');
    expect(bob.agent.currentEpoch).toBe(alice.agent.currentEpoch);
    expect(rosterIds(bob)).toEqual(rosterIds(alice));
    expect(bob.log.roster?.securityCode).toBe(alice.log.roster?.securityCode);
  });

  it('also when the leader that signed the missed rosters has left since: its successor relays them', async () => {
    const h = harness({ seed: 72 });
    const [alice, bob, carol] = (await meeting(h, ['Alice', 'Bob', 'Carol'])) as [SimParticipant, SimParticipant, SimParticipant];
    h.drop = (_from, to) => to === carol.id;
    await h.sim.join({ name: 'Dave' });
    await advance(h, 2_000);
    h.sim.leave(alice);
    await advance(h, 3_000);
    expect(carol.agent.currentEpoch).toBeLessThan(bob.agent.currentEpoch);
    h.drop = () => false;
    await advance(h, 3_000);
    expect(bob.agent.isLeader).toBe(true);
    expect(carol.log.state).toBe('ok');
    expect(carol.agent.currentEpoch).toBe(bob.agent.currentEpoch);
    expect(carol.log.roster?.securityCode).toBe(bob.log.roster?.securityCode);
  });
});

describe('a newcomer whose keys were withheld', () => {
  it('announces again, and the leader answers a member of its epoch with its roster and keys', async () => {
    const h = harness({ seed: 73 });
    const [alice] = (await meeting(h, ['Alice'])) as [SimParticipant];
    let holding = true;
    h.drop = (_from, to, plain) => holding && to !== alice.id && isType(plain, 'roster', 'delta', 'keys', 'commit');
    const nina = await h.sim.join({ name: 'Nina' });
    await advance(h, 3_000);
    expect(rosterIds(alice)).toContain(nina.id);
    // Nothing from Alice for 2 s: Nina started a provisional chain of her own (protocol.md §5), holding no key of Alice's.
    expect(nina.log.received.has(alice.agent.currentEpoch)).toBe(false);
    expect(rosterIds(nina)).toEqual([nina.id]);
    holding = false;
    await advance(h, 2_500);
    expect(nina.log.state).toBe('ok');
    expect(nina.log.roster?.securityCode).toBe(alice.log.roster?.securityCode);
  });
});

describe('a newcomer whose commit was withheld', () => {
  it('holds the key but never switched: it announces again and the leader resends roster, keys and commit', async () => {
    const h = harness({ seed: 75 });
    const [alice, bob] = (await meeting(h, ['Alice', 'Bob'])) as [SimParticipant, SimParticipant];
    let holding = true;
    const withheld = (to: string, plain: string) => to !== alice.id && to !== bob.id && isType(plain, 'commit');
    h.drop = (_from, to, plain) => holding && withheld(to, plain);
    const nina = await h.sim.join({ name: 'Nina' });
    await advance(h, 3_000);
    expect(nina.log.received.size).toBeGreaterThan(0); // keyed
    expect(nina.log.state).toBe('waiting-for-key'); // but never told to switch
    holding = false;
    await advance(h, 2_500);
    expect(nina.log.state).toBe('ok');
    expect(nina.agent.currentEpoch).toBe(alice.agent.currentEpoch);
  });
});

describe('a replayed old ack', () => {
  it('does not roll back the nonce the leader echoes, so the member still accepts its next key message', async () => {
    const h = harness({ seed: 74 });
    const [alice, bob] = (await meeting(h, ['Alice', 'Bob'])) as [SimParticipant, SimParticipant];
    const old = lastRelayed(h, 'ack', bob.id).message;
    // Two more epochs: Bob's key messages have echoed the nonces of his later acks since.
    await h.sim.join({ name: 'Carol' });
    await wait(h, 3_000);
    await h.sim.join({ name: 'Dave' });
    await wait(h, 3_000);
    expect(lastRelayed(h, 'ack', bob.id).message.ack.epoch).toBeGreaterThan(old.ack.epoch + 1);
    // The server (an insider, so the envelope opens) replays Bob's first ack to the leader.
    alice.agent.onRelay(bob.id, bob.link.seal(bob.id, encodeMessage(old)));
    await wait(h, 500);
    await h.sim.join({ name: 'Eve' });
    await wait(h, 3_000);
    expect(codes(bob)).not.toContain('STALE_NONCE');
    expect(bob.agent.currentEpoch).toBe(alice.agent.currentEpoch);
    expect(bob.log.state).toBe('ok');
  });
});
