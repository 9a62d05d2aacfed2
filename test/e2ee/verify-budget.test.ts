// Issue #12, finding 11: signature checks are the costly part of taking a
// message in, so every free check comes first (a roster that does not list us
// costs none), and each relay sender gets a bounded number of them per second.
// Signature checks are counted by wrapping primitives.verify for this file.

import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAnnouncement, type Announcement } from '../../shared/e2ee/announcement.ts';
import { LIMITS } from '../../shared/e2ee/constants.ts';
import { generateIdentity } from '../../shared/e2ee/identity.ts';
import { onlyKey, openKeysMessage } from '../../shared/e2ee/key-message.ts';
import { dhKeyPairFromSeed, initCrypto, systemRandom, verify } from '../../shared/e2ee/primitives.ts';
import { createRoster, memberFromAnnouncement, verifyRoster, type RosterMember } from '../../shared/e2ee/roster.ts';
import { VerifyBudget } from '../../shared/e2ee/verify-budget.ts';
import { CTX, keysFor, participant, rosterOf } from './fixtures.ts';
import { harness, inject } from './harness.ts';

vi.mock('../../shared/e2ee/primitives.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../shared/e2ee/primitives.ts')>();
  return { ...actual, verify: vi.fn(actual.verify) };
});

beforeAll(initCrypto);
beforeEach(() => {
  vi.mocked(verify).mockClear();
});

const verifications = () => vi.mocked(verify).mock.calls.length;
const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

/** `n` correctly signed announcements (one signer, distinct IDs: each is a signature check of its own). */
function announcements(n: number, ctx: { meetingId: string; instanceId: string }, prefix: string): Announcement[] {
  const identity = generateIdentity();
  const dhKey = dhKeyPairFromSeed(systemRandom(32)).publicKey;
  const one = (i: number) => {
    const fields = { ...ctx, participantId: `${prefix}${i}`, name: '', dhKey, nonce: systemRandom(16) };
    return createAnnouncement(fields, identity);
  };
  return Array.from({ length: n }, (_, i) => one(i));
}

describe('roster checks that cost nothing come first', () => {
  it('rejects a 1,024-member roster that does not list us with NOT_IN_ROSTER, without checking any signature', () => {
    const leader = participant('leader');
    const others = announcements(LIMITS.maxMembers - 1, CTX, 'm').map(memberFromAnnouncement);
    const members = [memberFromAnnouncement(leader.announcement), ...others];
    const r = createRoster({ ...CTX, epoch: 1, prevHash: new Uint8Array(32), members }, leader.identity);
    expect(r.roster.members).toHaveLength(1024);
    const bob = participant('bob');
    vi.mocked(verify).mockClear();
    const check = { ...CTX, from: 'leader', self: bob.announcement, head: null, departed: new Set<string>() };
    expect(codeOf(verifyRoster(r.roster, check))).toBe('NOT_IN_ROSTER');
    expect(verifications()).toBe(0);
  });

  it('rejects a first roster from someone the server does not list before checking signatures', () => {
    const [alice, bob] = [participant('alice'), participant('bob')];
    const r = rosterOf([alice, bob], 1);
    vi.mocked(verify).mockClear();
    const check = { ...CTX, from: 'alice', self: bob.announcement, head: null, departed: new Set<string>(), isPresent: () => false };
    expect(codeOf(verifyRoster(r.roster, check))).toBe('UNKNOWN_PARTICIPANT');
    expect(verifications()).toBe(0);
  });

  it('asks the budget before each signature check, and stops when it says no', () => {
    const [alice, bob, carol] = [participant('alice'), participant('bob'), participant('carol')];
    const r = rosterOf([alice, bob, carol], 1);
    let left = 2;
    const check = { ...CTX, from: 'alice', self: bob.announcement, head: null, departed: new Set<string>(), spend: () => left-- > 0 };
    vi.mocked(verify).mockClear();
    expect(codeOf(verifyRoster(r.roster, check))).toBe('RATE_LIMITED');
    expect(verifications()).toBe(2);
    // A key message: one check, after the free ones.
    const keys = keysFor(r, alice, [bob, carol]);
    const acceptableEchoes = bob.nonces.acceptable();
    const keysCheck = { ...CTX, selfId: 'bob', from: 'alice', roster: r, lastEpoch: 0, dhFor: onlyKey(bob.dh), acceptableEchoes };
    vi.mocked(verify).mockClear();
    expect(codeOf(openKeysMessage(keys, { ...keysCheck, spend: () => false }))).toBe('RATE_LIMITED');
    expect(verifications()).toBe(0);
    expect(codeOf(openKeysMessage(keys, { ...keysCheck, spend: () => true }))).toBe('ok');
  });

  it('refuses a key message from a leader the server reported gone, before its signature', () => {
    const [alice, bob] = [participant('alice'), participant('bob')];
    const r = rosterOf([alice, bob], 1);
    const acceptableEchoes = bob.nonces.acceptable();
    const departed = new Set(['alice']);
    const check = { ...CTX, selfId: 'bob', from: 'alice', roster: r, lastEpoch: 0, dhFor: onlyKey(bob.dh), acceptableEchoes, departed };
    vi.mocked(verify).mockClear();
    expect(codeOf(openKeysMessage(keysFor(r, alice, [bob]), check))).toBe('NOT_LEADER');
    expect(verifications()).toBe(0);
  });
});

describe('the signature budget per sender', () => {
  it('allows a burst, then refills at its rate, for each sender separately', () => {
    let now = 0;
    const budget = new VerifyBudget({ now: () => now, perSecond: 10, burst: 20 });
    expect(budget.take('mallory', 20)).toBe(true);
    expect(budget.take('mallory')).toBe(false);
    expect(budget.take('alice', 20)).toBe(true);
    now = 500;
    expect(budget.take('mallory', 5)).toBe(true);
    expect(budget.take('mallory')).toBe(false);
    now = 100_000;
    expect(budget.take('mallory', 20)).toBe(true);
    expect(budget.take('mallory')).toBe(false);
  });

  it('cuts off a flood of costly rosters from one sender while the leader still keys a newcomer', async () => {
    const h = harness({ seed: 11 });
    const alice = await h.sim.join({ name: 'Alice' });
    await h.sim.settle();
    // The server's own participant, present before the newcomer (so its rosters could be a newcomer's first).
    const mallory = await h.hub.join('harness', { onPeerJoined() {}, onPeerLeft() {}, onRelay() {} });
    const { meetingId, instanceId, participantId: malloryId } = mallory.info;
    const malloryIdentity = generateIdentity();
    const ctx = { meetingId, instanceId };
    const dhKey = dhKeyPairFromSeed(systemRandom(32)).publicKey;
    const own = createAnnouncement({ ...ctx, participantId: malloryId, name: 'Mallory', dhKey, nonce: systemRandom(16) }, malloryIdentity);
    const xavier = await h.sim.join({ name: 'Xavier' });

    // Each roster lists Xavier, is signed by Mallory, and carries 100 fresh valid entries and a bad last one:
    // 102 signature checks before it fails, and none of them cached for the next roster.
    const rosters = Array.from({ length: 20 }, (_, k) => {
      const fresh: RosterMember[] = announcements(100, ctx, `f${k}x`).map(memberFromAnnouncement);
      const bad = { ...fresh[0], participantId: `bad${k}` } as RosterMember;
      const members = [memberFromAnnouncement(own), memberFromAnnouncement(xavier.agent.ownAnnouncement), ...fresh, bad];
      return createRoster({ ...ctx, epoch: 1, prevHash: new Uint8Array(32), members }, malloryIdentity).roster;
    });
    vi.mocked(verify).mockClear();
    for (const roster of rosters) inject(xavier, malloryId, { type: 'roster', roster });
    await xavier.agent.idle();
    const flooded = xavier.log.errors.filter((e) => e.from === malloryId).map((e) => e.code);
    expect(flooded.filter((c) => c === 'ROSTER_BAD_ANNOUNCEMENT').length).toBeGreaterThan(0);
    expect(flooded.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThan(0);
    // 20 rosters would cost over 2,000 checks; the budget holds it to one burst (the virtual clock barely moved).
    expect(verifications()).toBeLessThanOrEqual(LIMITS.verifyBurst + 8);

    // The leader's roster and keys for Xavier come from another sender, with its own budget.
    await h.sim.settle();
    expect(xavier.log.state).toBe('ok');
    expect(xavier.log.roster?.members.map((m) => m.participantId)).toEqual([alice.id, xavier.id]);
    xavier.log.errors.length = 0;
    expect(h.sim.check()).toEqual([]);
  });
});
