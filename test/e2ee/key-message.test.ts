import { beforeAll, describe, expect, it } from 'vitest';
import { createKeysMessage, onlyKey, openKeysMessage, type KeysCheck, type KeysMessage } from '../../shared/e2ee/key-message.ts';
import { initCrypto, systemRandom } from '../../shared/e2ee/primitives.ts';
import type { VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { CTX, flipped, keysFor, participant, rosterOf, type TestParticipant } from './fixtures.ts';

beforeAll(initCrypto);

let alice: TestParticipant, bob: TestParticipant, carol: TestParticipant;
let r1: VerifiedRoster;
let epochKey: Uint8Array;
let msg: KeysMessage;

beforeAll(() => {
  [alice, bob, carol] = ['alice', 'bob', 'carol'].map((id) => participant(id)) as [TestParticipant, TestParticipant, TestParticipant];
  r1 = rosterOf([alice, bob, carol], 1);
  epochKey = systemRandom(32);
  msg = keysFor(r1, alice, [bob, carol], epochKey);
});

function asBob(overrides: Partial<KeysCheck> = {}): KeysCheck {
  return {
    ...CTX,
    selfId: 'bob',
    from: 'alice',
    roster: r1,
    lastEpoch: 0,
    dhFor: onlyKey(bob.dh),
    acceptableEchoes: bob.nonces.acceptable(),
    ...overrides,
  };
}
const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

describe('key message', () => {
  it('gives each recipient the epoch key', () => {
    const forBob = openKeysMessage(msg, asBob());
    const forCarol = openKeysMessage(msg, {
      ...asBob(),
      selfId: 'carol',
      dhFor: onlyKey(carol.dh),
      acceptableEchoes: carol.nonces.acceptable(),
    });
    expect(forBob).toMatchObject({ ok: true, value: { epoch: 1, epochKey } });
    expect(forCarol).toMatchObject({ ok: true, value: { epoch: 1, epochKey } });
  });

  it('rejects a bad leader signature', () => {
    expect(codeOf(openKeysMessage({ ...msg, signature: flipped(msg.signature) }, asBob()))).toBe('BAD_SIGNATURE');
  });

  it('rejects a swapped ciphertext (covered by the signature)', () => {
    const entries = msg.entries.map((e) => (e.to === 'bob' ? { ...e, box: flipped(e.box, 30) } : e));
    expect(codeOf(openKeysMessage({ ...msg, entries }, asBob()))).toBe('BAD_SIGNATURE');
  });

  it('rejects another meeting or instance', () => {
    expect(codeOf(openKeysMessage({ ...msg, meetingId: 'elsewhere' }, asBob()))).toBe('WRONG_MEETING');
    expect(codeOf(openKeysMessage({ ...msg, instanceId: 'inst_old' }, asBob()))).toBe('WRONG_INSTANCE');
  });

  it('rejects a message with no key for us (delivered to the wrong recipient)', () => {
    const onlyCarol = keysFor(r1, alice, [carol]);
    expect(codeOf(openKeysMessage(onlyCarol, asBob()))).toBe('WRONG_RECIPIENT');
  });

  it('rejects an entry readdressed to us: the AEAD binds the recipient', () => {
    // Even a validly signed entry for "bob" that was encrypted to Carol's key does not open for Bob.
    const readdressed = createKeysMessage({
      roster: r1,
      epochKey,
      recipients: [{ participantId: 'bob', dhKey: carol.dh.publicKey, echo: bob.nonces.latest }],
      identity: alice.identity,
      random: systemRandom,
    });
    expect(codeOf(openKeysMessage(readdressed, asBob()))).toBe('DECRYPT_FAILED');
  });

  it('rejects an old or equal epoch', () => {
    expect(codeOf(openKeysMessage(msg, asBob({ lastEpoch: 1 })))).toBe('STALE_EPOCH');
    expect(codeOf(openKeysMessage(msg, asBob({ lastEpoch: 5 })))).toBe('STALE_EPOCH');
  });

  it('rejects a key message that echoes a stale liveness nonce', () => {
    const p = participant('bob');
    const old = p.nonces.latest;
    const r = rosterOf([alice, p], 1);
    // Bob accepted a key echoing a newer nonce since: the old one is consumed.
    const newer = p.nonces.issue();
    p.nonces.consume(newer);
    const replayLike = keysFor(r, alice, [p], systemRandom(32), () => old);
    expect(
      codeOf(openKeysMessage(replayLike, { ...asBob(), roster: r, dhFor: onlyKey(p.dh), acceptableEchoes: p.nonces.acceptable() })),
    ).toBe('STALE_NONCE');
  });

  it('rejects a key message echoing a nonce we never issued', () => {
    const m = keysFor(r1, alice, [bob], systemRandom(32), () => systemRandom(16));
    expect(codeOf(openKeysMessage(m, asBob()))).toBe('STALE_NONCE');
  });

  it('accepts an echo of a nonce newer than the last one echoed (ack in flight)', () => {
    const p = participant('bob');
    const r = rosterOf([alice, p], 1);
    const fresh = p.nonces.issue();
    const m = keysFor(r, alice, [p], systemRandom(32), () => fresh);
    expect(openKeysMessage(m, { ...asBob(), roster: r, dhFor: onlyKey(p.dh), acceptableEchoes: p.nonces.acceptable() }).ok).toBe(true);
  });

  it('rejects a key message from a non-leader, even one validly signed by a member', () => {
    const fromCarol = createKeysMessage({
      roster: rosterOf([carol, alice, bob], 1), // Carol signs with herself as leader...
      epochKey: systemRandom(32),
      recipients: [{ participantId: 'bob', dhKey: bob.dh.publicKey, echo: bob.nonces.latest }],
      identity: carol.identity,
      random: systemRandom,
    });
    // ...but the roster Bob verified for epoch 1 says Alice leads.
    expect(codeOf(openKeysMessage(fromCarol, asBob({ from: 'carol' })))).toBe('NOT_LEADER');
    // The server relaying Alice's message as if from Carol is refused too.
    expect(codeOf(openKeysMessage(msg, asBob({ from: 'carol' })))).toBe('NOT_LEADER');
  });

  it('rejects a key message naming a roster other than the verified one', () => {
    const other = rosterOf([alice, bob], 1);
    const m = keysFor(other, alice, [bob]);
    expect(codeOf(openKeysMessage(m, asBob()))).toBe('ROSTER_MISMATCH');
  });

  it('rejects a key message that also keys someone outside the roster (a hidden listener)', () => {
    const ghost = participant('ghost');
    const m = keysFor(r1, alice, [bob, carol, ghost]);
    expect(codeOf(openKeysMessage(m, asBob()))).toBe('NOT_A_MEMBER');
  });

  it('rejects an epoch whose roster we never verified', () => {
    expect(codeOf(openKeysMessage(msg, asBob({ roster: undefined })))).toBe('UNKNOWN_EPOCH');
  });
});
