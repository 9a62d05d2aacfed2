// Issue #12, I3 (protocol.md §7.5a, late rosters): a roster its leader signed
// before it left, which the server held back until the successor had led
// without it. Which rosters count as late is pure and tested first; then what
// a member does with one: its removals become ours (the schedules in
// fork-healing.test.ts replay it with a removed member that leaves, as the app
// does; here the removed member is a modified client that stays).

import { beforeAll, describe, expect, it } from 'vitest';
import { lateRoster } from '../../shared/e2ee/late-roster.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { createRoster, type VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { participants, rosterOf, type TestParticipant } from './fixtures.ts';
import type { SimParticipant } from '../../harness/sim.ts';
import { codes, harness, inject, keyedEpochs, lastRoster, meeting, rosterIds, wait, type Harness } from './harness.ts';

beforeAll(initCrypto);

let alice: TestParticipant, bob: TestParticipant, carol: TestParticipant, dave: TestParticipant;
/** Alice leads roster 1; she removes Carol in her roster 2 and leaves; Bob, told she left first, leads his roster 2 with Carol. */
let parent: VerifiedRoster, alices: VerifiedRoster, bobs: VerifiedRoster;

beforeAll(() => {
  [alice, bob, carol, dave] = participants('alice', 'bob', 'carol', 'dave');
  parent = rosterOf([alice, bob, carol, dave], 1);
  alices = rosterOf([alice, bob, dave], 2, parent, alice, { excluded: ['carol'] });
  bobs = rosterOf([bob, carol, dave], 2, parent);
});

const gone = (...ids: string[]) => new Set(ids);

describe('a late roster', () => {
  it('is one its departed leader sent itself, following the roster we hold before it', () => {
    const departed = lateRoster(alices.roster, 'alice', parent, undefined, gone('alice'));
    // Verified with its signer present again, so the parent names her as its leader.
    expect(departed && [...departed]).toEqual([]);
  });

  it('is one also when we already follow the successor’s roster of that epoch', () => {
    expect(lateRoster(alices.roster, 'alice', parent, bobs, gone('alice'))).not.toBeNull();
  });

  it('is not one from a leader the server still lists: that is the ordinary roster we follow', () => {
    expect(lateRoster(alices.roster, 'alice', parent, undefined, gone())).toBeNull();
  });

  it('is not one relayed by anyone else (a successor relays its predecessor’s rosters to catch us up)', () => {
    expect(lateRoster(alices.roster, 'bob', parent, undefined, gone('alice'))).toBeNull();
  });

  it('is not one when someone ranked before its signer is still here (it did not lead then)', () => {
    const daves = rosterOf([dave, bob], 2, parent, dave);
    expect(lateRoster(daves.roster, 'dave', parent, undefined, gone('dave'))).toBeNull();
    expect(lateRoster(daves.roster, 'dave', parent, undefined, gone('dave', 'alice', 'bob', 'carol'))).not.toBeNull();
  });

  it('is not one when it does not follow the roster we hold before it, or skips an epoch', () => {
    const other = rosterOf([alice, bob, carol, dave], 1, undefined, alice, { locked: true });
    expect(lateRoster(alices.roster, 'alice', other, undefined, gone('alice'))).toBeNull();
    const skipping = rosterOf([alice, bob, dave], 3, parent, alice, { excluded: ['carol'] });
    expect(lateRoster(skipping.roster, 'alice', parent, undefined, gone('alice'))).toBeNull();
  });

  it('is not our own roster of that epoch again, nor one whose signer ranks after the one we follow', () => {
    expect(lateRoster(alices.roster, 'alice', parent, alices, gone('alice'))).toBeNull();
    expect(lateRoster(bobs.roster, 'bob', parent, alices, gone('alice', 'bob'))).toBeNull();
  });
});

it('a successor that kept a member the leader removed drops it once the removal arrives late', async () => {
  const h = harness({ seed: 11 });
  const [alice, bob, mallory, carol] = await meeting(h, ['Alice', 'Bob', 'Mallory', 'Carol']);
  // The server holds back everything Alice sends from now on, and Mallory never learns she was removed
  // (a modified client that would ignore it anyway).
  const from = h.traffic.length;
  h.drop = (sender) => sender === alice!.id;
  expect(alice!.agent.remove(mallory!.id).ok).toBe(true);
  await wait(h, 300);
  h.sim.leave(alice!);
  // Bob, next in line, leads an epoch of his own from the roster before Alice's: Mallory is in it.
  await wait(h, 2000);
  expect(rosterIds(bob!)).toEqual([bob!.id, mallory!.id, carol!.id]);
  // Now the server lets Alice's messages through to Bob and Carol, late.
  const held = h.traffic.slice(from).filter((t) => t.from === alice!.id && (t.to === null || t.to === bob!.id || t.to === carol!.id));
  expect(held.some((t) => /"t":"(roster|delta)"/.test(t.plain))).toBe(true);
  for (const t of held) for (const p of [bob!, carol!]) if (t.to === null || t.to === p.id) p.agent.onRelay(t.from, t.payload);
  await wait(h, 3000);
  for (const p of [bob!, carol!]) {
    expect(p.log.state, p.id).toBe('ok');
    expect(rosterIds(p), p.id).toEqual([bob!.id, carol!.id]);
  }
  expect(bob!.log.roster?.securityCode).toBe(carol!.log.roster?.securityCode);
  expect(keyedEpochs(mallory!)).not.toContain(bob!.agent.currentEpoch);
  expect(codes(bob!)).not.toContain('ROSTER_REMOVED_MEMBER');
});

/**
 * Alice leads Bob, Mallory and Carol; the server holds back everything Alice sends Bob from then on:
 * he misses Dave's epoch and then the one in which Alice removes Mallory.
 */
async function bobMissesTwoEpochs(h: Harness): Promise<Record<'alice' | 'bob' | 'mallory' | 'carol' | 'dave', SimParticipant>> {
  const [alice, bob, mallory, carol] = await meeting(h, ['Alice', 'Bob', 'Mallory', 'Carol']);
  h.drop = (sender, to) => sender === alice!.id && to === bob!.id;
  const dave = await h.sim.join({ name: 'Dave' });
  await wait(h, 2000);
  expect(alice!.agent.remove(mallory!.id).ok).toBe(true);
  await wait(h, 2000);
  expect(rosterIds(carol!)).toEqual([alice!.id, bob!.id, carol!.id, dave.id]);
  return { alice: alice!, bob: bob!, mallory: mallory!, carol: carol!, dave };
}

it('a removal stands even in a roster of its departed leader that does not chain to ours (epochs we missed)', async () => {
  const h = harness({ seed: 12 });
  const { alice, bob, mallory, carol, dave } = await bobMissesTwoEpochs(h);
  h.sim.leave(alice);
  await wait(h, 2500);
  // Bob, next in line, leads from the roster he holds, two epochs back: Mallory is in it, and Carol,
  // who saw the removal, refuses it.
  expect(rosterIds(bob)).toContain(mallory.id);
  expect(codes(carol)).toContain('ROSTER_REMOVED_MEMBER');
  // The server hands Bob Alice's last roster in full. It follows Alice's epoch he never got, so it is
  // no late roster (§7.5a); it is still hers, and her removal still stands.
  const removal = lastRoster(h, alice.id).roster;
  expect(removal.excluded).toContain(mallory.id);
  inject(bob, alice.id, { type: 'roster', roster: removal });
  await wait(h, 3000);
  for (const p of [bob, carol, dave]) {
    expect(p.log.state, p.id).toBe('ok');
    expect(rosterIds(p), p.id).not.toContain(mallory.id);
    expect(p.agent.currentEpoch, p.id).toBe(bob.agent.currentEpoch);
    expect(p.log.roster?.securityCode, p.id).toBe(bob.log.roster?.securityCode);
  }
  expect(keyedEpochs(mallory)).not.toContain(bob.agent.currentEpoch);
});

it('such a roster sent while its leader is still here is kept, and its removal taken once the server reports it gone', async () => {
  const h = harness({ seed: 13 });
  const { alice, bob, mallory, carol, dave } = await bobMissesTwoEpochs(h);
  inject(bob, alice.id, { type: 'roster', roster: lastRoster(h, alice.id).roster });
  await wait(h, 2000);
  // Alice still leads (another chain, as far as Bob can tell): nothing changes for him yet. (Taking the
  // removal would make Mallory's presence in his epoch a change, and stop him.)
  expect(rosterIds(bob)).toContain(mallory.id);
  expect(bob.log.state).toBe('ok');
  h.sim.leave(alice);
  await wait(h, 4000);
  for (const p of [bob, carol, dave]) {
    expect(p.log.state, p.id).toBe('ok');
    expect(rosterIds(p), p.id).not.toContain(mallory.id);
    expect(p.log.roster?.securityCode, p.id).toBe(bob.log.roster?.securityCode);
  }
});

it('a roster signed by a departed participant that never led us removes nobody', async () => {
  const h = harness({ seed: 14 });
  const [, bob, mallory, carol] = await meeting(h, ['Alice', 'Bob', 'Mallory', 'Carol']);
  const head = lastRoster(h, h.sim.members[0]!.id).roster;
  // Carol signs a roster of her own, first in it, that removes Mallory, and leaves.
  const members = [...head.members].sort((a, b) => (a.participantId === carol!.id ? -1 : b.participantId === carol!.id ? 1 : 0));
  const forged = createRoster(
    { ...head, epoch: head.epoch + 5, members: members.filter((m) => m.participantId !== mallory!.id), excluded: [mallory!.id] },
    carol!.identity,
  ).roster;
  h.sim.leave(carol!);
  await wait(h, 2000);
  inject(bob!, carol!.id, { type: 'roster', roster: forged });
  await wait(h, 2000);
  expect(rosterIds(bob!)).toContain(mallory!.id);
  expect(bob!.log.state).toBe('ok');
});
