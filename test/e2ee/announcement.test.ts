import { beforeAll, describe, expect, it } from 'vitest';
import { announcementBytes, createAnnouncement, verifyAnnouncement, VerifiedAnnouncements } from '../../shared/e2ee/announcement.ts';
import type { Announcement } from '../../shared/e2ee/announcement.ts';
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
    for (const tampered of [
      { ...a, dhKey: other.dhKey },
      { ...a, identityKey: other.identityKey },
      { ...a, nonce: other.nonce },
    ]) {
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

describe('verified-announcement cache', () => {
  it('skips the signature check only for the exact bytes, signature and key it verified', () => {
    const a = participant('alice').announcement;
    const other = participant('mallory').announcement;
    const cache = new VerifiedAnnouncements(16);
    expect(verifyAnnouncement(a, { ...CTX, from: 'alice' }, cache).ok).toBe(true);
    expect(cache.has(VerifiedAnnouncements.key(announcementBytes(a), a))).toBe(true);
    expect(verifyAnnouncement({ ...a }, CTX, cache).ok).toBe(true);
    // Anything signed or the signature itself changed: checked again, and rejected.
    for (const tampered of [
      { ...a, signature: flipped(a.signature) },
      { ...a, name: 'Mallory' },
      { ...a, dhKey: other.dhKey },
      { ...a, identityKey: other.identityKey },
      { ...a, nonce: other.nonce },
    ]) {
      expect(codeOf(verifyAnnouncement(tampered, { ...CTX, from: 'alice' }, cache))).toBe('BAD_SIGNATURE');
    }
    // The non-signature checks still run on a hit.
    expect(codeOf(verifyAnnouncement(a, { ...CTX, from: 'bob' }, cache))).toBe('SENDER_MISMATCH');
    expect(codeOf(verifyAnnouncement(a, { ...CTX, meetingId: 'other-meeting' }, cache))).toBe('WRONG_MEETING');
  });

  it('consults the cache instead of verifying again (shown with an entry planted for a bad signature)', () => {
    const a = participant('alice').announcement;
    const forged = { ...a, signature: flipped(a.signature) };
    const cache = new VerifiedAnnouncements(16);
    cache.add(VerifiedAnnouncements.key(announcementBytes(forged), forged));
    expect(verifyAnnouncement(forged, CTX, cache).ok).toBe(true);
    expect(codeOf(verifyAnnouncement(forged, CTX))).toBe('BAD_SIGNATURE');
  });

  it('keeps at most its bound, dropping the oldest; failures are not kept', () => {
    const cache = new VerifiedAnnouncements(2);
    const [a, b, c] = ['a', 'b', 'c'].map((id) => participant(id).announcement) as [Announcement, Announcement, Announcement];
    const bad = { ...a, signature: flipped(a.signature) };
    expect(verifyAnnouncement(bad, CTX, cache).ok).toBe(false);
    expect(cache.has(VerifiedAnnouncements.key(announcementBytes(bad), bad))).toBe(false);
    for (const x of [a, b, c]) verifyAnnouncement(x, CTX, cache);
    const has = (x: Announcement) => cache.has(VerifiedAnnouncements.key(announcementBytes(x), x));
    expect([has(a), has(b), has(c)]).toEqual([false, true, true]);
  });
});
