import { beforeAll, describe, expect, it } from 'vitest';
import { createAck, verifyAck, type Ack } from '../../shared/e2ee/ack.ts';
import { createCommit, verifyCommit, type Commit } from '../../shared/e2ee/commit.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import type { VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { CTX, flipped, participant, rosterOf, type TestParticipant } from './fixtures.ts';

beforeAll(initCrypto);

let alice: TestParticipant, bob: TestParticipant, carol: TestParticipant;
let r1: VerifiedRoster;
let ack: Ack;
let commit: Commit;

beforeAll(() => {
  [alice, bob, carol] = ['alice', 'bob', 'carol'].map((id) => participant(id)) as [TestParticipant, TestParticipant, TestParticipant];
  r1 = rosterOf([alice, bob], 1);
  ack = createAck({ ...CTX, epoch: 1, participantId: 'bob', rosterHash: r1.hash, nonce: bob.nonces.issue() }, bob.identity);
  commit = createCommit({ ...CTX, epoch: 1, leaderId: 'alice', rosterHash: r1.hash, reason: 'all-acked' }, alice.identity);
});

const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

describe('ack (member → leader)', () => {
  const asAlice = (from = 'bob') => ({ ...CTX, from, selfId: 'alice', roster: r1 });

  it('is accepted from a member of the epoch', () => {
    expect(verifyAck(ack, asAlice()).ok).toBe(true);
  });
  it('rejects a bad signature', () => {
    expect(codeOf(verifyAck({ ...ack, signature: flipped(ack.signature) }, asAlice()))).toBe('BAD_SIGNATURE');
  });
  it('rejects a swapped liveness nonce (signed)', () => {
    expect(codeOf(verifyAck({ ...ack, nonce: flipped(ack.nonce) }, asAlice()))).toBe('BAD_SIGNATURE');
  });
  it('rejects an ack relayed from someone else', () => {
    expect(codeOf(verifyAck(ack, asAlice('carol')))).toBe('SENDER_MISMATCH');
  });
  it('rejects an ack from outside the roster', () => {
    const fromCarol = createAck(
      { ...CTX, epoch: 1, participantId: 'carol', rosterHash: r1.hash, nonce: carol.nonces.issue() },
      carol.identity,
    );
    expect(codeOf(verifyAck(fromCarol, asAlice('carol')))).toBe('NOT_A_MEMBER');
  });
  it('rejects an ack for an epoch we do not lead', () => {
    expect(codeOf(verifyAck(ack, { ...asAlice(), selfId: 'bob' }))).toBe('NOT_LEADER');
  });
  it('rejects an ack for another meeting, instance or roster', () => {
    expect(codeOf(verifyAck({ ...ack, meetingId: 'elsewhere' }, asAlice()))).toBe('WRONG_MEETING');
    expect(codeOf(verifyAck({ ...ack, instanceId: 'inst_old' }, asAlice()))).toBe('WRONG_INSTANCE');
    expect(codeOf(verifyAck({ ...ack, rosterHash: flipped(ack.rosterHash) }, asAlice()))).toBe('ROSTER_MISMATCH');
  });
});

describe('commit (leader → everyone)', () => {
  const asBob = (over: { from?: string; sendEpoch?: number; roster?: VerifiedRoster | undefined } = {}) => ({
    ...CTX,
    from: 'alice',
    sendEpoch: 0,
    roster: r1,
    ...over,
  });

  it('is accepted from the leader of the epoch', () => {
    expect(verifyCommit(commit, asBob()).ok).toBe(true);
  });
  it('rejects a bad signature', () => {
    expect(codeOf(verifyCommit({ ...commit, signature: flipped(commit.signature) }, asBob()))).toBe('BAD_SIGNATURE');
  });
  it('rejects a changed reason (signed)', () => {
    expect(codeOf(verifyCommit({ ...commit, reason: 'timeout' }, asBob()))).toBe('BAD_SIGNATURE');
  });
  it('rejects a commit from a non-leader', () => {
    const byBob = createCommit({ ...CTX, epoch: 1, leaderId: 'bob', rosterHash: r1.hash, reason: 'all-acked' }, bob.identity);
    expect(codeOf(verifyCommit(byBob, asBob({ from: 'bob' })))).toBe('NOT_LEADER');
  });
  it('rejects an old or equal epoch (a replayed commit)', () => {
    expect(codeOf(verifyCommit(commit, asBob({ sendEpoch: 1 })))).toBe('STALE_EPOCH');
  });
  it('rejects a commit for an epoch whose keys we do not hold', () => {
    expect(codeOf(verifyCommit(commit, asBob({ roster: undefined })))).toBe('UNKNOWN_EPOCH');
  });
  it('rejects another meeting, instance or roster', () => {
    expect(codeOf(verifyCommit({ ...commit, meetingId: 'elsewhere' }, asBob()))).toBe('WRONG_MEETING');
    expect(codeOf(verifyCommit({ ...commit, instanceId: 'inst_old' }, asBob()))).toBe('WRONG_INSTANCE');
    expect(codeOf(verifyCommit({ ...commit, rosterHash: flipped(commit.rosterHash) }, asBob()))).toBe('ROSTER_MISMATCH');
  });
});
