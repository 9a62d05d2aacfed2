// Issue #12, I3: after the server stops interfering, members that it split onto
// different chains (or a newcomer that a participant of its own captured) end
// on one epoch and one security code (docs/protocol.md §7.5a). Each case is a
// schedule the adversarial test found stuck for good before the rule it names;
// the schedule is replayed by its seed and every invariant is asserted.

import { beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, type IdentityKeyPair } from '../../shared/e2ee/identity.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { runSchedule } from './schedules/run.ts';

let server: IdentityKeyPair;
beforeAll(async () => {
  await initCrypto();
  server = generateIdentity();
});

async function converges(seed: number): Promise<void> {
  const r = await runSchedule(seed, server);
  expect(r.problems, `seed ${seed}:\n${r.steps.join('\n')}`).toEqual([]);
}

describe('members the server split onto two chains end on one', () => {
  it('a successor whose epoch is no newer than a member’s key starts one above it when that member asks (seed 562)', () => converges(562));
  it('…and again with a member that holds a key of the successor’s own epoch number (seed 574)', () => converges(574));
  it('a stopped member takes a roster that does not chain to its head from the leader its head names (seed 101)', () => converges(101));
  it('…also when that leader forked several epochs back (seed 288)', () => converges(288));
  it('a member still sending when that roster came grafts it once it stops, without waiting for a resend (seeds 9598, 2188)', async () => {
    await converges(9598);
    await converges(2188);
  });
  it('…and opens the key message that came with it, refused until then for want of its roster (seeds 4323, 7495, 3819)', async () => {
    for (const seed of [4323, 7495, 3819]) await converges(seed);
  });
});

describe('a member that passed over a leader the server silenced, and leads alone', () => {
  it('takes that leader’s chain once the server relays again (seeds 2599, 5074, 8616)', async () => {
    for (const seed of [2599, 5074, 8616]) await converges(seed);
  });
  it('does not leave an epoch of its own that a newcomer is about to ack (seeds 5529, 6283)', async () => {
    await converges(5529);
    await converges(6283);
  });
  it('no longer counts the leader it passed over as gone once it follows it again (I1, seed 4095)', () => converges(4095));
});

describe('a member that takes over as leader', () => {
  it('sends under its own epoch although it had learned of later ones of its leader’s that never reached it (seed 5738)', () =>
    converges(5738));
  it('takes over when the member its head names as next leader asks it for a resend, each naming the other (seed 4227)', () =>
    converges(4227));
});

describe('a participant removed by the leader', () => {
  it('leaves, as the app does, so members waiting for it as their next leader move on (seed 388)', () => converges(388));
});

describe('a removal the server held back until its leader left (late rosters)', () => {
  it('reaches the successor, or the removed member leading unaware, also in a roster that does not chain to theirs (seeds 8540, 8774)', async () => {
    for (const seed of [8540, 8774]) await converges(seed);
  });
  it('reaches the removed member, who had taken over as leader unaware, and it goes (seed 148)', () => converges(148));
  it('reaches the successor that kept the removed member in its epoch, which drops it (seed 1645)', () => converges(1645));
});

describe('a newcomer captured before it ever sent', () => {
  it('replaces a first roster whose leader never keys it with the real leader’s (seed 150)', () => converges(150));
  it('drops the keys it took under the replaced roster and is keyed again above them (seed 391)', () => converges(391));
  it('does not go back to an older roster once the leader of its own keyed it (seed 17)', () => converges(17));
});
