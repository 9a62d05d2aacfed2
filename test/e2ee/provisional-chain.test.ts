// Issue #12, I3: a newcomer behind participants ahead of it that never key it
// (a participant of the server's that holds the link and stays silent, or an
// honest leader whose messages the server withholds) starts a provisional chain
// after silentAheadMs instead of waiting for ever; when the older chain's roster
// reaches it and its members, they all move to it (docs/protocol.md §5, "Silent
// participants ahead"; §7.5a, "Provisional chains merge").

import { beforeAll, describe, expect, it } from 'vitest';
import { TIMING } from '../../shared/e2ee/constants.ts';
import { generateIdentity, type IdentityKeyPair } from '../../shared/e2ee/identity.ts';
import { createRoster, GENESIS_HASH, memberFromAnnouncement } from '../../shared/e2ee/roster.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import type { SimParticipant } from '../../harness/sim.ts';
import { advance, codes, harness, inject, meeting, rosterIds } from './harness.ts';

beforeAll(initCrypto);

/** The agent's head roster (a first roster shows nowhere else before its key comes). */
const head = (p: SimParticipant) =>
  (
    p.agent as unknown as {
      epochs: {
        head: { roster: { provisional: boolean; meetingId: string; instanceId: string; members: { participantId: string }[] } } | null;
      };
    }
  ).epochs.head?.roster;

it('a newcomer behind a participant that stays silent starts a provisional chain after silentAheadMs, and the next newcomer joins it', async () => {
  const h = harness({ seed: 31 });
  const [ghost] = await meeting(h, ['Ghost']);
  // Present, holds the link, never says anything again (as a participant the server runs may).
  ghost!.agent.stop();
  const bob = await h.sim.join({ name: 'Bob' });
  await advance(h, TIMING.silentAheadMs - 200);
  expect(bob.log.state).toBe('waiting-for-key');
  await advance(h, 1000);
  expect(codes(bob)).toContain('SILENT_AHEAD');
  expect(bob.agent.isLeader).toBe(true);
  expect(bob.log.state).toBe('ok');
  expect(bob.agent.ownAnnouncement.participantId).toBe(bob.id);
  const carol = await h.sim.join({ name: 'Carol' });
  await advance(h, 2000);
  for (const p of [bob, carol]) {
    expect(p.log.state, p.id).toBe('ok');
    expect(rosterIds(p), p.id).toEqual([bob.id, carol.id]);
  }
  expect(carol.log.roster?.securityCode).toBe(bob.log.roster?.securityCode);
  // The participant ahead is not an acking member: the chain says it is provisional.
  expect(head(bob)?.provisional).toBe(true);
});

it('a newcomer whose first roster came from a participant that never keys it drops that roster and leads', async () => {
  const h = harness({ seed: 32 });
  const [alice] = await meeting(h, ['Alice']);
  // Alice's key messages and commits never reach Bob: only her roster does.
  h.drop = (from, _to, plain) => from === alice!.id && /"t":"(keys|commit)"/.test(plain);
  const bob = await h.sim.join({ name: 'Bob' });
  await advance(h, 500);
  expect(head(bob)?.members.map((m) => m.participantId)).toEqual([alice!.id, bob.id]);
  alice!.agent.stop();
  await advance(h, TIMING.silentAheadMs + 1000);
  expect(codes(bob)).toContain('SILENT_AHEAD');
  expect(bob.log.state).toBe('ok');
  expect(rosterIds(bob)).toEqual([bob.id]);
});

it('the members of a provisional chain move to the older chain the server kept from them once its roster reaches them', async () => {
  const h = harness({ seed: 33 });
  const [alice, dave] = await meeting(h, ['Alice', 'Dave']);
  // The server withholds everything Alice and Dave send Bob and Carol: to them, those ahead are silent.
  const held: Array<{ from: string; to: string; plain: string }> = [];
  const newcomers = new Set<string>();
  h.drop = (from, to, plain) => {
    if ((from !== alice!.id && from !== dave!.id) || !newcomers.has(to)) return false;
    held.push({ from, to, plain });
    return true;
  };
  const bob = await h.sim.join({ name: 'Bob' });
  newcomers.add(bob.id);
  await advance(h, TIMING.silentAheadMs + 500);
  expect(bob.agent.isLeader).toBe(true);
  const carol = await h.sim.join({ name: 'Carol' });
  newcomers.add(carol.id);
  await advance(h, 2000);
  // Two chains: Bob's provisional one holds Carol; Alice's lists them both and never got an ack from them.
  expect(rosterIds(carol)).toEqual([bob.id, carol.id]);
  expect(carol.log.state).toBe('ok');
  expect(rosterIds(alice!)).toEqual([alice!.id, dave!.id, bob.id, carol.id]);
  // The server relays again, what it held first.
  h.drop = () => false;
  for (const m of held.splice(0)) inject(m.to === bob.id ? bob : carol, m.from, m.plain);
  await advance(h, 3000);
  for (const p of [alice!, dave!, bob, carol]) {
    expect(p.log.state, p.id).toBe('ok');
    expect(rosterIds(p), p.id).toEqual([alice!.id, dave!.id, bob.id, carol.id]);
    expect(p.agent.currentEpoch, p.id).toBe(alice!.agent.currentEpoch);
    expect(p.log.roster?.securityCode, p.id).toBe(alice!.log.roster?.securityCode);
  }
  expect(bob.agent.isLeader).toBe(false);
});

describe('the leader stops waiting for the ack of a member that leads a chain of its own', () => {
  /** Alice leads, Bob acked her chain; Carol joins and Bob's acks are dropped: the epoch adding Carol waits for Bob. */
  async function carolInFlight(seed: number) {
    const h = harness({ seed });
    const [alice, bob] = await meeting(h, ['Alice', 'Bob']);
    h.drop = (from, _to, plain) => from === bob!.id && /"t":"ack"/.test(plain);
    const carol = await h.sim.join({ name: 'Carol' });
    await advance(h, 200);
    expect(carol.log.state, 'keyed, not committed').toBe('waiting-for-key');
    // A provisional roster of a chain Bob leads (as after silentAheadMs, §5), listing Carol too.
    const provisional = (signer: IdentityKeyPair, flag = true) =>
      createRoster(
        {
          meetingId: head(alice!)!.meetingId,
          instanceId: head(alice!)!.instanceId,
          epoch: 1,
          prevHash: GENESIS_HASH,
          provisional: flag,
          members: [bob!, carol].map((p) => memberFromAnnouncement(p.agent.ownAnnouncement)),
        },
        signer,
      ).roster;
    return { h, alice: alice!, bob: bob!, carol, provisional };
  }

  it('commits at once on a provisional roster Bob signed', async () => {
    const { h, alice, bob, carol, provisional } = await carolInFlight(34);
    inject(alice, bob.id, { type: 'roster', roster: provisional(bob.identity) });
    await advance(h, 100);
    expect(carol.log.state).toBe('ok');
    expect(carol.agent.currentEpoch).toBe(alice.agent.currentEpoch);
  });

  it('keeps waiting the full commit timeout when the roster is not signed by Bob, or not provisional', async () => {
    for (const [seed, signer, flag] of [
      [35, generateIdentity(), true],
      [36, null, false],
    ] as const) {
      const { h, alice, bob, carol, provisional } = await carolInFlight(seed);
      inject(alice, bob.id, { type: 'roster', roster: provisional(signer ?? bob.identity, flag) });
      await advance(h, 100);
      expect(carol.log.state, `seed ${seed}`).toBe('waiting-for-key');
      await advance(h, TIMING.commitTimeoutMs);
      expect(carol.log.state, `seed ${seed}`).toBe('ok');
    }
  });
});
