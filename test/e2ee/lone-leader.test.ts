// Issue #12, I3: a member that passed over a leader the server had silenced
// leads a chain of its own; once the server relays again, the leader it passed
// over still lists it. A chain nobody else acked yields to the chain of a
// participant the server listed before its leader (docs/protocol.md §7.5a,
// "Lone leaders"), so the meeting ends on one epoch and one security code.

import { randomBytes } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { createAnnouncement, type Announcement } from '../../shared/e2ee/announcement.ts';
import { TIMING } from '../../shared/e2ee/constants.ts';
import { generateIdentity } from '../../shared/e2ee/identity.ts';
import { dhKeyPairFromSeed, initCrypto } from '../../shared/e2ee/primitives.ts';
import { createRoster, memberFromAnnouncement } from '../../shared/e2ee/roster.ts';
import type { SimParticipant } from '../../harness/sim.ts';
import { advance, codes, harness, inject, meeting, rosterIds, wait, type Harness } from './harness.ts';

beforeAll(initCrypto);

/**
 * Alice leads Alice, Bob and Carol. Carol leaves while the server holds back
 * everything Alice sends Bob: Bob passes her over and leads alone, Alice re-keys
 * with Bob in her roster. Returns what the server held back from Bob.
 */
async function split(h: Harness): Promise<{ alice: SimParticipant; bob: SimParticipant; held: string[] }> {
  const [alice, bob, carol] = await meeting(h, ['Alice', 'Bob', 'Carol']);
  const held: string[] = [];
  h.drop = (from, to, plain) => {
    if (from !== alice!.id || to !== bob!.id) return false;
    held.push(plain);
    return true;
  };
  h.sim.leave(carol!);
  await wait(h, TIMING.passOverMs + 2000);
  expect(codes(bob!)).toContain('LEADER_PASSED_OVER');
  expect(bob!.agent.isLeader).toBe(true);
  expect(rosterIds(bob!)).toEqual([bob!.id]);
  expect(rosterIds(alice!)).toEqual([alice!.id, bob!.id]);
  return { alice: alice!, bob: bob!, held };
}

it('a member that passed over a silenced leader and leads alone takes that leader’s chain once it hears it again', async () => {
  const h = harness({ seed: 21 });
  const { alice, bob, held } = await split(h);
  h.drop = () => false;
  for (const plain of held) inject(bob, alice.id, plain);
  await wait(h, 3000);
  for (const p of [alice, bob]) {
    expect(p.log.state, p.id).toBe('ok');
    expect(rosterIds(p), p.id).toEqual([alice.id, bob.id]);
  }
  expect(bob.agent.isLeader).toBe(false);
  expect(bob.agent.currentEpoch).toBe(alice.agent.currentEpoch);
  expect(bob.log.roster?.securityCode).toBe(alice.log.roster?.securityCode);
});

it('a lone leader does not take a chain that brings back someone its own chain removed', async () => {
  const h = harness({ seed: 22 });
  const [alice, bob, carol, mallory] = await meeting(h, ['Alice', 'Bob', 'Carol', 'Mallory']);
  const held: string[] = [];
  // Alice's messages to Bob are held back and Bob's acks never reach Alice, so her epochs keep
  // Bob, and Mallory, whom Bob removes once he leads.
  h.drop = (from, to, plain) => {
    if (from === bob!.id && to === alice!.id) return true;
    if (from !== alice!.id || to !== bob!.id) return false;
    held.push(plain);
    return true;
  };
  h.sim.leave(carol!);
  await wait(h, TIMING.passOverMs + 2000);
  expect(bob!.agent.isLeader).toBe(true);
  expect(bob!.agent.remove(mallory!.id).ok).toBe(true);
  await wait(h, 2000);
  expect(rosterIds(bob!)).toEqual([bob!.id]);
  expect(rosterIds(alice!)).toContain(mallory!.id);
  h.drop = () => false;
  for (const plain of held) inject(bob!, alice!.id, plain);
  await wait(h, 3000);
  expect(bob!.agent.isLeader).toBe(true);
  expect(rosterIds(bob!)).toEqual([bob!.id]);
});

/**
 * A participant the server runs, holding the link: it announces itself to everyone
 * present and then only sends what the test makes it send (it never acks, never keys).
 */
async function serverParticipant(h: Harness) {
  const identity = generateIdentity();
  const silent = { onPeerJoined: () => {}, onPeerLeft: () => {}, onRelay: () => {} };
  const { info } = await h.hub.join('harness', silent);
  const { meetingId, instanceId, participantId: id } = info;
  const dhKey = dhKeyPairFromSeed(randomBytes(32)).publicKey;
  const announcement = createAnnouncement(
    { meetingId, instanceId, participantId: id, name: 'Mallory', dhKey, nonce: randomBytes(16) },
    identity,
  );
  await advance(h, 100); // after the server's join notice
  for (const m of h.sim.members) inject(m, id, { type: 'announce', announcement });
  /** A roster of its own chain, led by it. */
  const roster = (others: readonly Announcement[], epoch: number) =>
    createRoster(
      { meetingId, instanceId, epoch, prevHash: randomBytes(32), members: [announcement, ...others].map(memberFromAnnouncement) },
      identity,
    ).roster;
  return { id, announcement, roster };
}

/**
 * Alice leads, then Mallory (the server's), Bob and Carol join; Alice and Carol
 * leave, and Bob leads with Mallory, who never acked, behind him.
 */
async function bobLeadsMallory(h: Harness) {
  const [alice] = await meeting(h, ['Alice']);
  const mallory = await serverParticipant(h);
  await wait(h, 1000);
  const [bob, carol] = await meeting(h, ['Bob', 'Carol']);
  await wait(h, 2000);
  expect(rosterIds(bob!)).toEqual([alice!.id, mallory.id, bob!.id, carol!.id]);
  h.sim.leave(alice!);
  h.sim.leave(carol!);
  await advance(h, TIMING.keyWaitMs + 1000);
  expect(bob!.agent.isLeader).toBe(true);
  expect(bob!.log.state).toBe('ok');
  return { mallory, bob: bob! };
}

it('a lone leader that took the roster of a participant that never keys it passes that one over and leads again', async () => {
  const h = harness({ seed: 23 });
  const { mallory, bob } = await bobLeadsMallory(h);
  expect(rosterIds(bob)).toEqual([bob.id, mallory.id]);
  // Mallory was listed before Bob and lists him: he takes her roster, and she never sends a key.
  inject(bob, mallory.id, { type: 'roster', roster: mallory.roster([bob.agent.ownAnnouncement], bob.agent.currentEpoch + 1) });
  await advance(h, 500);
  expect(bob.agent.isLeader).toBe(false);
  expect(bob.log.state).toBe('rekeying');
  await advance(h, TIMING.passOverMs + TIMING.keyWaitMs + 1000);
  expect(bob.log.errors.find((e) => e.code === 'LEADER_PASSED_OVER')?.from).toBe(mallory.id);
  expect(bob.agent.isLeader).toBe(true);
  expect(bob.log.state).toBe('ok');
});

it('a lone leader does not take a chain that leaves out a member of its own', async () => {
  const h = harness({ seed: 24 });
  const { mallory, bob } = await bobLeadsMallory(h);
  // Dave, the server's too, joins after Bob: Bob adds him, and he never acks either.
  const dave = await serverParticipant(h);
  await advance(h, TIMING.keyWaitMs + 1000);
  expect(rosterIds(bob)).toEqual([bob.id, mallory.id, dave.id]);
  const epoch = bob.agent.currentEpoch;
  inject(bob, mallory.id, { type: 'roster', roster: mallory.roster([bob.agent.ownAnnouncement], epoch + 1) });
  await advance(h, 500);
  expect(bob.agent.isLeader).toBe(true);
  expect(bob.log.state).toBe('ok');
  expect(bob.agent.currentEpoch).toBe(epoch);
});
