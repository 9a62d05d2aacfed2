// Issue #12, I3 (protocol.md §7.5a, late rosters): a roster its leader signed
// before it left, which the server held back until the successor had led
// without it. Which rosters count as late is pure and tested first; then what
// a member does with one: its removals become ours (the schedules in
// fork-healing.test.ts replay it with a removed member that leaves, as the app
// does; here the removed member is a modified client that stays).

import { beforeAll, describe, expect, it } from 'vitest';
import { lateRoster } from '../../shared/e2ee/late-roster.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import type { VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { participants, rosterOf, type TestParticipant } from './fixtures.ts';
import { codes, harness, keyedEpochs, meeting, rosterIds, wait } from './harness.ts';

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
