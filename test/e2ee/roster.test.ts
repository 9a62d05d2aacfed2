import { beforeAll, describe, expect, it } from 'vitest';
import { createAnnouncement, verifyAnnouncement, VerifiedAnnouncements } from '../../shared/e2ee/announcement.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import {
  createRoster,
  expectedLeader,
  memberFromAnnouncement,
  rosterHash,
  verifyRoster,
  type RosterCheck,
  type VerifiedRoster,
} from '../../shared/e2ee/roster.ts';
import { CTX, flipped, participant, participants, rosterOf, type TestParticipant } from './fixtures.ts';

beforeAll(initCrypto);

let alice: TestParticipant, bob: TestParticipant, carol: TestParticipant, dave: TestParticipant;
let r1: VerifiedRoster;

beforeAll(() => {
  [alice, bob, carol, dave] = participants('alice', 'bob', 'carol', 'dave');
  r1 = rosterOf([alice, bob, carol], 1);
});

function check(self: TestParticipant, head: VerifiedRoster | null, from = 'alice', departed: string[] = []): RosterCheck {
  return { ...CTX, from, self: self.announcement, head, departed: new Set(departed) };
}
const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

describe('first roster (nothing to chain to)', () => {
  it('is accepted when it lists our own announcement unchanged', () => {
    const r = verifyRoster(r1.roster, check(bob, null));
    expect(r).toMatchObject({ ok: true, value: { kind: 'member', index: 1 } });
  });

  it('is rejected with NOT_IN_ROSTER when it does not list us', () => {
    expect(codeOf(verifyRoster(r1.roster, check(dave, null)))).toBe('NOT_IN_ROSTER');
  });

  it('is rejected when our entry carries keys we did not announce', () => {
    // The server tries to slip in its own X25519 key under Bob's name, with a valid announcement of its own making.
    const fakeBob = participant('bob');
    const r = rosterOf([alice, fakeBob, carol], 1);
    expect(codeOf(verifyRoster(r.roster, check(bob, null)))).toBe('ROSTER_SELF_MISMATCH');
  });
});

describe('roster signature and binding', () => {
  it('rejects a bad leader signature', () => {
    const tampered = { ...r1.roster, signature: flipped(r1.roster.signature) };
    expect(codeOf(verifyRoster(tampered, check(bob, null)))).toBe('BAD_SIGNATURE');
  });

  it('rejects a member added after signing', () => {
    const tampered = { ...r1.roster, members: [...r1.roster.members, memberFromAnnouncement(dave.announcement)] };
    expect(codeOf(verifyRoster(tampered, check(bob, null)))).toBe('BAD_SIGNATURE');
  });

  it('rejects a roster for another meeting or instance', () => {
    expect(codeOf(verifyRoster({ ...r1.roster, meetingId: 'elsewhere' }, check(bob, null)))).toBe('WRONG_MEETING');
    expect(codeOf(verifyRoster({ ...r1.roster, instanceId: 'inst_old' }, check(bob, null)))).toBe('WRONG_INSTANCE');
  });

  it('rejects a roster relayed from someone other than its leader (the server naming a leader)', () => {
    expect(codeOf(verifyRoster(r1.roster, check(bob, null, 'carol')))).toBe('NOT_LEADER');
  });

  it('rejects a roster signed by a member that is not members[0]', () => {
    const r = rosterOf([alice, bob, carol], 1, undefined, carol);
    expect(codeOf(verifyRoster(r.roster, check(bob, null)))).toBe('BAD_SIGNATURE');
  });

  it('rejects a member entry without a valid announcement', () => {
    // Signed by the leader, but Dave's announcement signature is broken.
    const broken = { ...memberFromAnnouncement(dave.announcement), signature: flipped(dave.announcement.signature) };
    const r = createRoster({ ...CTX, epoch: 1, prevHash: r1.roster.prevHash, members: [...r1.roster.members, broken] }, alice.identity);
    expect(codeOf(verifyRoster(r.roster, check(bob, null)))).toBe('ROSTER_BAD_ANNOUNCEMENT');
  });

  it('with a cache of verified announcements: accepts members verified on receipt, still rejects a forged entry', () => {
    const cache = new VerifiedAnnouncements(16);
    expect(verifyAnnouncement(dave.announcement, { ...CTX, from: 'dave' }, cache).ok).toBe(true);
    const good = createRoster(
      { ...CTX, epoch: 1, prevHash: r1.roster.prevHash, members: [...r1.roster.members, memberFromAnnouncement(dave.announcement)] },
      alice.identity,
    );
    expect(verifyRoster(good.roster, { ...check(bob, null), verifiedAnnouncements: cache })).toMatchObject({
      ok: true,
      value: { kind: 'member' },
    });
    const broken = { ...memberFromAnnouncement(dave.announcement), signature: flipped(dave.announcement.signature) };
    const bad = createRoster({ ...CTX, epoch: 1, prevHash: r1.roster.prevHash, members: [...r1.roster.members, broken] }, alice.identity);
    expect(codeOf(verifyRoster(bad.roster, { ...check(bob, null), verifiedAnnouncements: cache }))).toBe('ROSTER_BAD_ANNOUNCEMENT');
    const renamed = createRoster(
      {
        ...CTX,
        epoch: 1,
        prevHash: r1.roster.prevHash,
        members: [...r1.roster.members, { ...memberFromAnnouncement(dave.announcement), name: 'Not Dave' }],
      },
      alice.identity,
    );
    expect(codeOf(verifyRoster(renamed.roster, { ...check(bob, null), verifiedAnnouncements: cache }))).toBe('ROSTER_BAD_ANNOUNCEMENT');
  });

  it('rejects a member whose announcement was made for another instance', () => {
    const old = participant('erin', { meetingId: CTX.meetingId, instanceId: 'inst_old' });
    const r = createRoster(
      { ...CTX, epoch: 1, prevHash: r1.roster.prevHash, members: [...r1.roster.members, memberFromAnnouncement(old.announcement)] },
      alice.identity,
    );
    expect(codeOf(verifyRoster(r.roster, check(bob, null)))).toBe('ROSTER_BAD_ANNOUNCEMENT');
  });
});

describe('roster chain', () => {
  it('accepts the next roster from the same leader with a newcomer appended', () => {
    const r2 = rosterOf([alice, bob, carol, dave], 2, r1);
    expect(verifyRoster(r2.roster, check(bob, r1))).toMatchObject({ ok: true, value: { kind: 'member' } });
  });

  it('rejects a roster that does not chain to the previous one', () => {
    const r2 = rosterOf([alice, bob, carol, dave], 2); // new chain, not r1's successor
    expect(codeOf(verifyRoster(r2.roster, check(bob, r1)))).toBe('ROSTER_CHAIN_BROKEN');
  });

  it('rejects an old or equal epoch', () => {
    const r2 = rosterOf([alice, bob, carol, dave], 2, r1);
    expect(codeOf(verifyRoster(r1.roster, check(bob, r2)))).toBe('STALE_EPOCH');
    expect(codeOf(verifyRoster(r2.roster, check(bob, r2)))).toBe('STALE_EPOCH');
  });

  it('rejects reordering continuing members or placing a newcomer before them', () => {
    expect(codeOf(verifyRoster(rosterOf([alice, carol, bob], 2, r1).roster, check(bob, r1)))).toBe('ROSTER_ORDER');
    expect(codeOf(verifyRoster(rosterOf([alice, dave, bob, carol], 2, r1).roster, check(bob, r1)))).toBe('ROSTER_ORDER');
  });

  it("rejects changing a continuing member's keys", () => {
    const newCarol = {
      ...carol,
      announcement: createAnnouncement(
        { ...CTX, participantId: 'carol', dhKey: dave.dh.publicKey, nonce: carol.nonces.latest },
        carol.identity,
      ),
    };
    expect(codeOf(verifyRoster(rosterOf([alice, bob, newCarol], 2, r1).roster, check(bob, r1)))).toBe('ROSTER_ORDER');
  });

  it('accepts the next member in join order as leader once the server says the leader left', () => {
    const r2 = rosterOf([bob, carol], 2, r1);
    expect(verifyRoster(r2.roster, check(carol, r1, 'bob', ['alice']))).toMatchObject({ ok: true, value: { kind: 'member' } });
  });

  it('rejects a takeover while the leader is still present', () => {
    const r2 = rosterOf([bob, carol], 2, r1);
    expect(codeOf(verifyRoster(r2.roster, check(carol, r1, 'bob')))).toBe('NOT_LEADER');
  });

  it('rejects a takeover by someone other than the next in join order', () => {
    const r2 = rosterOf([carol], 2, r1);
    expect(codeOf(verifyRoster(r2.roster, check(carol, r1, 'carol', ['alice'])))).toBe('NOT_LEADER');
  });

  it('reports removal when a valid successor roster no longer lists us', () => {
    const r2 = rosterOf([alice, bob], 2, r1);
    expect(verifyRoster(r2.roster, check(carol, r1))).toMatchObject({ ok: true, value: { kind: 'removed' } });
  });

  it('names the first member the server has not reported gone as the expected leader', () => {
    expect(expectedLeader(r1.roster, new Set())?.participantId).toBe('alice');
    expect(expectedLeader(r1.roster, new Set(['alice', 'bob']))?.participantId).toBe('carol');
  });

  it('hashes every field, so any change gives another hash', () => {
    const base = r1.roster;
    expect(rosterHash({ ...base, epoch: 2 })).not.toEqual(r1.hash);
    expect(rosterHash({ ...base, prevHash: flipped(base.prevHash) })).not.toEqual(r1.hash);
    expect(rosterHash({ ...base, members: base.members.slice(0, 2) })).not.toEqual(r1.hash);
    expect(rosterHash({ ...base, unacked: ['bob'] })).not.toEqual(r1.hash);
  });
});

// A participant that never acks (one the server runs with the link, or a modified client) must not
// stall a failover by being next in line: the leader lists who has acked nothing yet, and the
// succession skips them while anyone else is left (protocol.md §5).
describe('members the leader lists as unacked', () => {
  let r2: VerifiedRoster;
  beforeAll(() => {
    r2 = rosterOf([alice, bob, carol, dave], 2, r1, alice, { unacked: ['bob', 'dave'] });
  });

  it('are skipped when the next leader is chosen, unless nobody else is left', () => {
    expect(expectedLeader(r2.roster, new Set(['alice']))?.participantId).toBe('carol');
    expect(expectedLeader(r2.roster, new Set(['alice', 'carol']))?.participantId).toBe('bob');
    expect(expectedLeader(r2.roster, new Set())?.participantId).toBe('alice');
  });

  it('may be placed behind the successor that skipped them; members who acked may not', () => {
    const byCarol = rosterOf([carol, bob, dave], 3, r2);
    expect(verifyRoster(byCarol.roster, check(dave, r2, 'carol', ['alice']))).toMatchObject({ ok: true, value: { kind: 'member' } });
    expect(codeOf(verifyRoster(byCarol.roster, check(dave, r2, 'bob', ['alice'])))).toBe('NOT_LEADER');
    const r2acked = rosterOf([alice, bob, carol, dave], 2, r1, alice, { unacked: ['dave'] });
    expect(codeOf(verifyRoster(rosterOf([carol, bob, dave], 3, r2acked).roster, check(dave, r2acked, 'carol', ['alice'])))).toBe(
      'NOT_LEADER',
    );
    expect(codeOf(verifyRoster(rosterOf([alice, carol, bob, dave], 3, r2acked).roster, check(dave, r2acked)))).toBe('ROSTER_ORDER');
  });

  it('must be members of the roster that lists them', () => {
    const stray = rosterOf([alice, bob, carol], 2, r1, alice, { unacked: ['dave'] });
    expect(codeOf(verifyRoster(stray.roster, check(bob, r1)))).toBe('MALFORMED');
  });
});
