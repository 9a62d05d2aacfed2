import { beforeAll, describe, expect, it } from 'vitest';
import { announcementBytes, createAnnouncement, verifyAnnouncement } from '../../shared/e2ee/announcement.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { CTX, flipped, participant } from './fixtures.ts';

beforeAll(initCrypto);

const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

describe('announcement', () => {
  it('verifies when relayed from the participant it speaks for', () => {
    const alice = participant('alice');
    expect(verifyAnnouncement(alice.announcement, { ...CTX, from: 'alice' }).ok).toBe(true);
  });

  it('rejects a signature that does not match', () => {
    const a = participant('alice').announcement;
    expect(codeOf(verifyAnnouncement({ ...a, signature: flipped(a.signature) }, { ...CTX, from: 'alice' }))).toBe('BAD_SIGNATURE');
  });

  it('rejects a swapped X25519 key, identity key or nonce (all signed)', () => {
    const a = participant('alice').announcement;
    const other = participant('mallory').announcement;
    for (const tampered of [{ ...a, dhKey: other.dhKey }, { ...a, identityKey: other.identityKey }, { ...a, nonce: other.nonce }]) {
      expect(codeOf(verifyAnnouncement(tampered, { ...CTX, from: 'alice' }))).toBe('BAD_SIGNATURE');
    }
  });

  it('rejects an announcement for another meeting or another instance', () => {
    const a = participant('alice', { meetingId: 'other-meeting', instanceId: CTX.instanceId }).announcement;
    expect(codeOf(verifyAnnouncement(a, { ...CTX, from: 'alice' }))).toBe('WRONG_MEETING');
    const b = participant('alice', { meetingId: CTX.meetingId, instanceId: 'old-instance' }).announcement;
    expect(codeOf(verifyAnnouncement(b, { ...CTX, from: 'alice' }))).toBe('WRONG_INSTANCE');
  });

  it('rejects an announcement relayed from someone else (server replaying it for another ID)', () => {
    const a = participant('alice').announcement;
    expect(codeOf(verifyAnnouncement(a, { ...CTX, from: 'mallory' }))).toBe('SENDER_MISMATCH');
  });

  it('rejects relabelling the participant ID even with a matching relay sender', () => {
    const a = participant('alice').announcement;
    expect(codeOf(verifyAnnouncement({ ...a, participantId: 'mallory' }, { ...CTX, from: 'mallory' }))).toBe('BAD_SIGNATURE');
  });

  it('signs a length-prefixed transcript, so shifting bytes between fields changes it', () => {
    const a = participant('ab').announcement;
    const shifted = { ...a, meetingId: a.meetingId + 'a', participantId: 'b' };
    expect(announcementBytes(shifted)).not.toEqual(announcementBytes(a));
  });

  it('uses the identity key of the signer', () => {
    const alice = participant('alice');
    const a = createAnnouncement({ ...CTX, participantId: 'alice', dhKey: alice.dh.publicKey, nonce: alice.nonces.latest }, alice.identity);
    expect(a.identityKey).toEqual(alice.identity.publicKey);
  });
});
