import { beforeAll, describe, expect, it } from 'vitest';
import {
  chatAd,
  chatSignedBytes,
  checkChatText,
  createChat,
  deriveChatKey,
  openChat,
  type ChatCheck,
  type ChatMessage,
} from '../../shared/e2ee/chat.ts';
import { decodeMessage, encodeMessage } from '../../shared/e2ee/wire.ts';
import { SIZE } from '../../shared/e2ee/constants.ts';
import { deriveFrameKeys } from '../../shared/e2ee/sender-keys.ts';
import { initCrypto, seal, sign, systemRandom } from '../../shared/e2ee/primitives.ts';
import type { VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { CTX, flipped, participant, rosterOf, type TestParticipant } from './fixtures.ts';

beforeAll(initCrypto);

const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

let alice: TestParticipant, bob: TestParticipant, carol: TestParticipant, dave: TestParticipant;
let r1: VerifiedRoster, r2: VerifiedRoster;
let key1: Uint8Array, key2: Uint8Array;

beforeAll(async () => {
  [alice, bob, carol, dave] = ['alice', 'bob', 'carol', 'dave'].map((id) => participant(id)) as [
    TestParticipant,
    TestParticipant,
    TestParticipant,
    TestParticipant,
  ];
  r1 = rosterOf([alice, bob, carol], 1);
  r2 = rosterOf([alice, bob, carol, dave], 2, r1);
  key1 = await deriveChatKey(systemRandom(32), { ...CTX, epoch: 1 });
  key2 = await deriveChatKey(systemRandom(32), { ...CTX, epoch: 2 });
});

function chat(from: TestParticipant, text: string, seq = 1, epoch = 1, chatKey = key1): ChatMessage {
  return createChat({ ...CTX, epoch, senderId: from.id, seq, text, chatKey, identity: from.identity, random: systemRandom });
}

/** Bob's view while epoch 1 is current. */
function asBob(over: Partial<ChatCheck> = {}): ChatCheck {
  return { ...CTX, from: 'alice', roster: r1, chatKey: key1, current: r1.roster, lastSeq: 0, ...over };
}

describe('chat key', () => {
  it('is derived per epoch, deterministically, and differs from every frame key of that epoch', async () => {
    const epochKey = systemRandom(32);
    const labels = { ...CTX, epoch: 5 };
    const k = await deriveChatKey(epochKey, labels);
    expect(k).toHaveLength(SIZE.chatKey);
    expect(await deriveChatKey(epochKey, labels)).toEqual(k);
    expect(await deriveChatKey(epochKey, { ...labels, epoch: 6 })).not.toEqual(k);
    expect(await deriveChatKey(epochKey, { ...labels, instanceId: 'inst_other' })).not.toEqual(k);
    const frameKeys = await deriveFrameKeys(epochKey, labels, ['alice', 'bob']);
    for (const f of frameKeys) expect(f.baseKey).not.toEqual(k);
  });
});

describe('chat message', () => {
  it('opens for a member of the epoch, naming the sender from the roster', () => {
    const m = chat(alice, 'hello 👋');
    const opened = openChat(m, asBob());
    expect(opened).toMatchObject({ ok: true, value: { text: 'hello 👋', sender: { participantId: 'alice', name: 'Alice' } } });
  });

  it('pads the plaintext to 256-byte blocks: the server sees a size bucket, not the length', () => {
    const sizes = ['hi', 'a somewhat longer message, still short', 'x'.repeat(250)].map((t) => chat(alice, t).box.length);
    expect(new Set(sizes)).toEqual(new Set([SIZE.chatBoxOverhead + 256]));
    expect(chat(alice, 'x'.repeat(253)).box.length).toBe(SIZE.chatBoxOverhead + 512);
    expect(openChat(chat(alice, 'x'.repeat(4000)), asBob())).toMatchObject({ ok: true, value: { text: 'x'.repeat(4000) } });
  });

  it('refuses empty, over-long or malformed text before sending', () => {
    for (const t of ['', 'x'.repeat(4001), 'a\uD800b', 7]) expect(codeOf(checkChatText(t))).toBe('INVALID_ARGUMENT');
    expect(checkChatText('line one\nline two').ok).toBe(true);
  });

  it('rejects a tampered ciphertext, sequence number or epoch label: they are signed', () => {
    const m = chat(alice, 'transfer 100', 3);
    expect(codeOf(openChat({ ...m, box: flipped(m.box, 40) }, asBob()))).toBe('CHAT_BAD_SIGNATURE');
    expect(codeOf(openChat({ ...m, seq: 4 }, asBob()))).toBe('CHAT_BAD_SIGNATURE');
    expect(codeOf(openChat({ ...m, signature: flipped(m.signature) }, asBob()))).toBe('CHAT_BAD_SIGNATURE');
  });

  it("rejects a message signed by one member and relabelled as another's", () => {
    const m = chat(bob, 'I am Alice');
    expect(codeOf(openChat({ ...m, senderId: 'alice' }, asBob({ from: 'alice' })))).toBe('CHAT_BAD_SIGNATURE');
  });

  it('rejects a message relayed from someone other than its sender', () => {
    expect(codeOf(openChat(chat(alice, 'hi'), asBob({ from: 'carol' })))).toBe('SENDER_MISMATCH');
  });

  it('rejects an epoch whose key we do not hold (before we joined, or retired)', () => {
    expect(codeOf(openChat(chat(alice, 'hi'), asBob({ roster: undefined, chatKey: undefined })))).toBe('CHAT_UNKNOWN_EPOCH');
    expect(codeOf(openChat(chat(alice, 'hi'), asBob({ chatKey: undefined })))).toBe('CHAT_UNKNOWN_EPOCH');
    expect(codeOf(openChat(chat(alice, 'hi', 1, 2, key2), asBob()))).toBe('CHAT_UNKNOWN_EPOCH');
  });

  it('rejects a sender outside the epoch roster, and one removed since', () => {
    expect(codeOf(openChat(chat(dave, 'let me in'), asBob({ from: 'dave' })))).toBe('CHAT_NOT_A_MEMBER');
    const r3 = rosterOf([alice, bob], 3, r2, undefined, { excluded: ['carol'] });
    // Carol still holds the epoch 1 chat key, but she was removed in epoch 3.
    expect(codeOf(openChat(chat(carol, 'still here'), asBob({ from: 'carol', current: r3.roster })))).toBe('CHAT_NOT_A_MEMBER');
  });

  it('rejects a replay: sequence numbers must increase per sender', () => {
    const m = chat(alice, 'hi', 5);
    expect(openChat(m, asBob({ lastSeq: 4 })).ok).toBe(true);
    expect(codeOf(openChat(m, asBob({ lastSeq: 5 })))).toBe('CHAT_REPLAY');
    expect(codeOf(openChat(m, asBob({ lastSeq: 9 })))).toBe('CHAT_REPLAY');
  });

  it("rejects a member's blob that does not open under the epoch's chat key", () => {
    const wrongKey = chat(alice, 'hi', 1, 1, key2);
    expect(codeOf(openChat(wrongKey, asBob()))).toBe('CHAT_DECRYPT_FAILED');
  });

  it('rejects a plaintext with broken padding (only a broken member client can produce one)', () => {
    // Alice's client seals a length field that points past the block, and signs it properly.
    const header = { ...CTX, epoch: 1, senderId: 'alice', seq: 1 };
    const bad = new Uint8Array(256);
    new DataView(bad.buffer).setUint32(0, 300);
    const box = seal(bad, chatAd(header), key1, systemRandom);
    const signature = sign(chatSignedBytes({ ...header, box }), alice.identity.privateKey);
    expect(codeOf(openChat({ ...header, box, signature }, asBob()))).toBe('MALFORMED');
  });

  it('round-trips through the wire codec, and refuses a box that is not whole blocks', () => {
    const m = chat(alice, 'hi');
    const payload = encodeMessage({ type: 'chat', chat: m });
    expect(decodeMessage(payload)).toEqual({ ok: true, value: { type: 'chat', chat: m } });
    const json = JSON.parse(payload) as Record<string, unknown>;
    const short = encodeMessage({ type: 'chat', chat: { ...m, box: m.box.slice(0, -1) } });
    expect(codeOf(decodeMessage(short))).toBe('MALFORMED');
    for (const seq of [0, -1, 1.5, '2']) expect(codeOf(decodeMessage(JSON.stringify({ ...json, seq })))).toBe('MALFORMED');
  });
});
