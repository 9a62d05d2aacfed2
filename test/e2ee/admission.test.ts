import { beforeAll, describe, expect, it } from 'vitest';
import {
  admissible,
  createAdmission,
  lobbyWaiting,
  verifyAdmissionForMember,
  verifyAdmissionForNewcomer,
  type Admission,
  type LobbyInput,
} from '../../shared/e2ee/admission.ts';
import { decodeMessage, encodeMessage } from '../../shared/e2ee/wire.ts';
import { planMembers } from '../../shared/e2ee/membership.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { describeRoster } from '../../shared/e2ee/roster-view.ts';
import { rosterHash, verifyRoster, type RosterCheck, type VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { CTX, flipped, participant, rosterOf, type TestParticipant } from './fixtures.ts';

beforeAll(initCrypto);

const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

let alice: TestParticipant, bob: TestParticipant, carol: TestParticipant, dave: TestParticipant, mallory: TestParticipant;
let r1: VerifiedRoster;

beforeAll(() => {
  [alice, bob, carol, dave, mallory] = ['alice', 'bob', 'carol', 'dave', 'mallory'].map((id) => participant(id)) as [
    TestParticipant,
    TestParticipant,
    TestParticipant,
    TestParticipant,
    TestParticipant,
  ];
  r1 = rosterOf([alice, bob, carol], 1);
});

function asMember(self: TestParticipant, head: VerifiedRoster | null, from = 'alice', departed: string[] = []): RosterCheck {
  return { ...CTX, from, self: self.announcement, head, departed: new Set(departed) };
}

describe('lock and exclusions in the signed roster', () => {
  it('carries the lock to every member with the roster', () => {
    const r2 = rosterOf([alice, bob, carol], 2, r1, undefined, { locked: true });
    expect(verifyRoster(r2.roster, asMember(bob, r1))).toMatchObject({ ok: true, value: { kind: 'member' } });
    expect(describeRoster(r2.roster).locked).toBe(true);
  });

  it('rejects a roster whose lock the server flipped (signed)', () => {
    const r2 = rosterOf([alice, bob, carol], 2, r1, undefined, { locked: true });
    expect(codeOf(verifyRoster({ ...r2.roster, locked: false }, asMember(bob, r1)))).toBe('BAD_SIGNATURE');
  });

  it('rejects a roster whose exclusion list the server shortened (signed)', () => {
    const r2 = rosterOf([alice, bob], 2, r1, undefined, { excluded: ['carol'] });
    expect(codeOf(verifyRoster({ ...r2.roster, excluded: [] }, asMember(bob, r1)))).toBe('BAD_SIGNATURE');
    expect(rosterHash({ ...r2.roster, excluded: ['carol', 'dave'] })).not.toEqual(r2.hash);
  });

  it('rejects a replayed older roster with the old lock state', () => {
    const r2 = rosterOf([alice, bob, carol], 2, r1, undefined, { locked: true });
    expect(codeOf(verifyRoster(r1.roster, asMember(bob, r2)))).toBe('STALE_EPOCH');
  });

  it('tells a removed member it was removed (its ID is excluded) rather than dropped', () => {
    const r2 = rosterOf([alice, bob], 2, r1, undefined, { excluded: ['carol'] });
    const out = verifyRoster(r2.roster, asMember(carol, r1));
    expect(out).toMatchObject({ ok: true, value: { kind: 'removed' } });
    expect(out.ok && out.value.verified.roster.excluded).toContain('carol');
  });

  it('rejects a later roster that lists a removed participant again, even from the next leader', () => {
    const r2 = rosterOf([alice, bob, dave], 2, r1, undefined, { excluded: ['carol'] });
    const r3 = rosterOf([bob, dave, carol], 3, r2); // Bob leads after Alice left and re-adds Carol
    expect(codeOf(verifyRoster(r3.roster, asMember(dave, r2, 'bob', ['alice'])))).toBe('ROSTER_REMOVED_MEMBER');
  });

  it('rejects a roster that lists someone it excludes', () => {
    const r2 = rosterOf([alice, bob, carol], 2, r1, undefined, { excluded: ['carol'] });
    expect(codeOf(verifyRoster(r2.roster, asMember(bob, r1)))).toBe('ROSTER_REMOVED_MEMBER');
  });

  it('leaves excluded members out of the next roster the leader plans, and never re-adds them', () => {
    const present = () => true;
    const members = planMembers({
      selfId: 'alice',
      self: alice.announcement,
      head: r1.roster,
      isPresent: present,
      candidates: [carol.announcement, dave.announcement],
      excluded: new Set(['carol']),
    });
    expect(members.map((m) => m.participantId)).toEqual(['alice', 'bob', 'dave']);
  });
});

describe('the lobby (pure)', () => {
  const input = (over: Partial<LobbyInput> = {}): LobbyInput => ({
    locked: true,
    candidates: [dave.announcement, mallory.announcement],
    isPresent: () => true,
    excluded: new Set(),
    admitted: new Set(),
    ...over,
  });

  it('is empty while unlocked: everyone present is admitted with the next epoch', () => {
    expect(lobbyWaiting(input({ locked: false }))).toEqual([]);
    expect(admissible(input({ locked: false })).map((a) => a.participantId)).toEqual(['dave', 'mallory']);
  });

  it('holds every verified newcomer while locked, until admitted', () => {
    expect(lobbyWaiting(input()).map((a) => a.participantId)).toEqual(['dave', 'mallory']);
    expect(admissible(input())).toEqual([]);
    const admitted = input({ admitted: new Set(['dave']) });
    expect(lobbyWaiting(admitted).map((a) => a.participantId)).toEqual(['mallory']);
    expect(admissible(admitted).map((a) => a.participantId)).toEqual(['dave']);
  });

  it('drops denied and departed newcomers', () => {
    expect(lobbyWaiting(input({ excluded: new Set(['mallory']) })).map((a) => a.participantId)).toEqual(['dave']);
    expect(lobbyWaiting(input({ isPresent: (id) => id !== 'dave' })).map((a) => a.participantId)).toEqual(['mallory']);
    expect(admissible(input({ locked: false, excluded: new Set(['mallory']) })).map((a) => a.participantId)).toEqual(['dave']);
  });
});

describe('admission message, as the newcomer checks it', () => {
  let wait: Admission;
  const asDave = (from = 'alice') => ({ ...CTX, from, self: dave.announcement });

  beforeAll(() => {
    wait = createAdmission({ roster: r1, leaderId: 'alice', newcomer: dave.announcement, decision: 'wait' }, alice.identity);
  });

  it('accepts the leader-signed decision about our current announcement', () => {
    expect(verifyAdmissionForNewcomer(wait, asDave())).toEqual({ ok: true, value: wait });
  });

  it('rejects a forged signature, or a decision flipped from wait to deny', () => {
    expect(codeOf(verifyAdmissionForNewcomer({ ...wait, signature: flipped(wait.signature) }, asDave()))).toBe('BAD_SIGNATURE');
    expect(codeOf(verifyAdmissionForNewcomer({ ...wait, decision: 'deny' }, asDave()))).toBe('BAD_SIGNATURE');
  });

  it("rejects the server swapping in another key while keeping the leader's signature", () => {
    expect(codeOf(verifyAdmissionForNewcomer({ ...wait, leaderKey: mallory.identity.publicKey }, asDave()))).toBe('BAD_SIGNATURE');
  });

  it('rejects a decision about someone else, or about an earlier session of ours', () => {
    expect(codeOf(verifyAdmissionForNewcomer(wait, { ...CTX, from: 'alice', self: mallory.announcement }))).toBe('WRONG_RECIPIENT');
    const earlier = participant('dave'); // same ID, earlier announcement (other nonce)
    const old = createAdmission({ roster: r1, leaderId: 'alice', newcomer: earlier.announcement, decision: 'deny' }, alice.identity);
    expect(codeOf(verifyAdmissionForNewcomer(old, asDave()))).toBe('STALE_NONCE');
  });

  it('rejects a decision relayed from someone other than its signer, or for another meeting or instance', () => {
    expect(codeOf(verifyAdmissionForNewcomer(wait, asDave('bob')))).toBe('SENDER_MISMATCH');
    expect(codeOf(verifyAdmissionForNewcomer({ ...wait, meetingId: 'elsewhere' }, asDave()))).toBe('WRONG_MEETING');
    expect(codeOf(verifyAdmissionForNewcomer({ ...wait, instanceId: 'inst_old' }, asDave()))).toBe('WRONG_INSTANCE');
  });

  it('cannot tell the real leader from anyone else with a key: a self-signed decision verifies (only a hint)', () => {
    const fake = createAdmission({ roster: r1, leaderId: 'mallory', newcomer: dave.announcement, decision: 'wait' }, mallory.identity);
    expect(verifyAdmissionForNewcomer(fake, asDave('mallory')).ok).toBe(true);
  });
});

describe('admission message, as a member checks it', () => {
  let deny: Admission;
  const asBob = (from = 'alice', roster: VerifiedRoster | undefined = r1, departed: string[] = []) => ({
    ...CTX,
    from,
    roster,
    departed: new Set(departed),
  });

  beforeAll(() => {
    deny = createAdmission({ roster: r1, leaderId: 'alice', newcomer: dave.announcement, decision: 'deny' }, alice.identity);
  });

  it('accepts a denial from the leader of our roster', () => {
    expect(verifyAdmissionForMember(deny, asBob()).ok).toBe(true);
  });

  it('rejects a denial signed by a member who does not lead', () => {
    const byBob = createAdmission({ roster: r1, leaderId: 'bob', newcomer: dave.announcement, decision: 'deny' }, bob.identity);
    expect(codeOf(verifyAdmissionForMember(byBob, asBob('bob')))).toBe('NOT_LEADER');
  });

  it("rejects a denial carrying a key other than the leader's", () => {
    const forged = createAdmission({ roster: r1, leaderId: 'alice', newcomer: dave.announcement, decision: 'deny' }, mallory.identity);
    expect(codeOf(verifyAdmissionForMember(forged, asBob()))).toBe('NOT_LEADER');
  });

  it('rejects a bad signature', () => {
    expect(codeOf(verifyAdmissionForMember({ ...deny, signature: flipped(deny.signature) }, asBob()))).toBe('BAD_SIGNATURE');
    expect(codeOf(verifyAdmissionForMember({ ...deny, to: 'mallory' }, asBob()))).toBe('BAD_SIGNATURE');
  });

  it('rejects a denial naming a roster we do not hold, or another roster for the epoch', () => {
    expect(codeOf(verifyAdmissionForMember(deny, { ...asBob(), roster: undefined }))).toBe('UNKNOWN_EPOCH');
    expect(codeOf(verifyAdmissionForMember({ ...deny, rosterHash: flipped(deny.rosterHash) }, asBob()))).toBe('ROSTER_MISMATCH');
  });

  it('rejects a denial of a current member (that is what removal is for)', () => {
    const ofCarol = createAdmission({ roster: r1, leaderId: 'alice', newcomer: carol.announcement, decision: 'deny' }, alice.identity);
    expect(codeOf(verifyAdmissionForMember(ofCarol, asBob()))).toBe('ALREADY_A_MEMBER');
  });

  it('accepts a denial from the successor once the server says the leader left', () => {
    const bySuccessor = createAdmission({ roster: r1, leaderId: 'bob', newcomer: dave.announcement, decision: 'deny' }, bob.identity);
    expect(verifyAdmissionForMember(bySuccessor, asBob('bob', r1, ['alice'])).ok).toBe(true);
  });

  it('round-trips through the wire codec, and refuses an unknown decision', () => {
    const payload = encodeMessage({ type: 'admission', admission: deny });
    expect(decodeMessage(payload)).toEqual({ ok: true, value: { type: 'admission', admission: deny } });
    const json = JSON.parse(payload) as Record<string, unknown>;
    expect(codeOf(decodeMessage(JSON.stringify({ ...json, decision: 'admit' })))).toBe('MALFORMED');
  });

  it('round-trips a locked roster with exclusions, and refuses a malformed policy', () => {
    const r2 = rosterOf([alice, bob], 2, r1, undefined, { locked: true, excluded: ['carol'] });
    const payload = encodeMessage({ type: 'roster', roster: r2.roster });
    expect(decodeMessage(payload)).toEqual({ ok: true, value: { type: 'roster', roster: r2.roster } });
    const json = JSON.parse(payload) as Record<string, unknown>;
    for (const change of [
      { locked: 'yes' },
      { locked: undefined },
      { excluded: ['carol', 'carol'] },
      { excluded: ['bad id!'] },
      { excluded: undefined },
    ]) {
      expect(codeOf(decodeMessage(JSON.stringify({ ...json, ...change })))).toBe('MALFORMED');
    }
  });
});
