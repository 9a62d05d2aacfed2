import { beforeAll, describe, expect, it } from 'vitest';
import { verifyAnnouncement } from '../../shared/e2ee/announcement.ts';
import { decodeMessage, encodeMessage } from '../../shared/e2ee/wire.ts';
import { checkDisplayName } from '../../shared/e2ee/display-name.ts';
import { generateIdentity, initCrypto, MeetingKeyAgent } from '../../shared/e2ee/index.ts';
import { describeRoster } from '../../shared/e2ee/roster-view.ts';
import { verifyRoster } from '../../shared/e2ee/roster.ts';
import { CTX, participant, rosterOf, testLink } from './fixtures.ts';

beforeAll(initCrypto);

const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

describe('display names', () => {
  it.each([
    ['an ordinary name', 'Alice Martin'],
    ['no name at all', ''],
    ['64 characters', 'x'.repeat(64)],
    ['64 emoji (two UTF-16 units each)', '😀'.repeat(64)],
    ['letters from any script', 'Zoë Åström 王小明 محمد'],
    ['an emoji sequence with a zero-width joiner', '👩‍💻 Dana'],
  ])('accepts %s', (_what, name) => {
    expect(checkDisplayName(name)).toEqual({ ok: true, value: name });
  });

  it.each([
    ['65 characters', 'x'.repeat(65)],
    ['a newline', 'Alice\nBob'],
    ['a control character', 'Al\u0007ice'],
    ['a right-to-left override (renders "Alice" from other letters)', '\u202Eecila'],
    ['a bidi isolate', 'Bob\u2066x'],
    ['a lone surrogate', 'Al\uD800ice'],
    ['leading or trailing whitespace', ' Alice'],
    ['a non-string', 42],
  ])('refuses %s', (_what, name) => {
    expect(codeOf(checkDisplayName(name))).toBe('INVALID_ARGUMENT');
  });

  it('is signed: renaming someone in their announcement breaks its signature', () => {
    const a = participant('alice').announcement;
    expect(a.name).toBe('Alice');
    expect(codeOf(verifyAnnouncement({ ...a, name: 'Mallory' }, { ...CTX, from: 'alice' }))).toBe('BAD_SIGNATURE');
  });

  it('is carried by the roster as each member signed it, so the leader cannot rename a member', () => {
    const [alice, bob] = [participant('alice'), participant('bob', CTX, 'Bob B.')];
    const r = rosterOf([alice, bob], 1);
    expect(describeRoster(r.roster).members.map((m) => m.name)).toEqual(['Alice', 'Bob B.']);
    // The leader signs a roster that renames Bob: Bob's own announcement signature no longer matches.
    const renamed = rosterOf([alice, { ...bob, announcement: { ...bob.announcement, name: 'Boss' } }], 1);
    expect(codeOf(verifyRoster(renamed.roster, { ...CTX, from: 'alice', self: alice.announcement, head: null, departed: new Set() }))).toBe(
      'ROSTER_BAD_ANNOUNCEMENT',
    );
  });

  it('is validated at the wire boundary', () => {
    const json = JSON.parse(encodeMessage({ type: 'announce', announcement: participant('alice').announcement })) as Record<
      string,
      unknown
    >;
    expect(decodeMessage(JSON.stringify(json)).ok).toBe(true);
    for (const name of ['x'.repeat(65), 'a\u202Eb', 7, undefined])
      expect(codeOf(decodeMessage(JSON.stringify({ ...json, name })))).toBe('MALFORMED');
  });

  it('is refused when the agent is created with an invalid one', () => {
    const make = (displayName: string) =>
      new MeetingKeyAgent({ ...CTX, selfId: 'alice', identity: generateIdentity(), link: testLink(), displayName, send: () => {} });
    expect(make('Alice').ownAnnouncement.name).toBe('Alice');
    expect(() => make('x'.repeat(65))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
