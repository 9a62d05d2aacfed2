import { beforeAll, describe, expect, it } from 'vitest';
import { chatAd, createChat } from '../../shared/e2ee/chat.ts';
import { encodeMessage } from '../../shared/e2ee/wire.ts';
import { toBase64Url } from '../../shared/e2ee/encoding.ts';
import { fingerprint, initCrypto } from '../../shared/e2ee/index.ts';
import { open, systemRandom } from '../../shared/e2ee/primitives.ts';
import { flipped } from './fixtures.ts';
import { codes, harness, inject, lastRelayed, meeting } from './harness.ts';
import type { SimParticipant } from '../../harness/sim.ts';

beforeAll(initCrypto);

const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

/** The secret a participant exported under this exact label. */
function secret(p: SimParticipant, label: string): Uint8Array {
  const s = p.log.secrets.find((x) => x.label === label);
  if (!s) throw new Error(`${p.id} exported no '${label}'`);
  return s.bytes;
}

describe('encrypted chat', () => {
  it('reaches every member decrypted and attributed; the server relays only ciphertext', async () => {
    const h = harness();
    const [a, b, c] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    if (!a || !b || !c) throw new Error('setup');
    const epoch = b.agent.currentEpoch;
    expect(b.agent.sendChat('meet at noon')).toEqual({ ok: true, value: { epoch, seq: 1 } });
    expect(b.agent.sendChat('bring the slides')).toEqual({ ok: true, value: { epoch, seq: 2 } });
    await h.sim.settle();
    for (const p of [a, c]) {
      expect(p.log.chats.map(({ at: _at, ...rest }) => rest)).toEqual([
        { from: b.id, name: 'Bob', fingerprint: fingerprint(b.identity.publicKey), text: 'meet at noon', epoch, seq: 1, own: false },
        { from: b.id, name: 'Bob', fingerprint: fingerprint(b.identity.publicKey), text: 'bring the slides', epoch, seq: 2, own: false },
      ]);
    }
    expect(b.log.chats.map((m) => [m.text, m.own])).toEqual([
      ['meet at noon', true],
      ['bring the slides', true],
    ]);
    const relayed = h.traffic.filter((t) => t.plain.includes('"t":"chat"'));
    expect(relayed).toHaveLength(2);
    expect(relayed.some((t) => t.plain.includes('noon') || t.plain.includes('slides'))).toBe(false);
    expect(relayed.every((t) => t.to === null)).toBe(true);
  });

  it('is refused with NO_KEY, and nothing relayed, without a committed epoch key', async () => {
    const h = harness();
    const [a, b] = await meeting(h, ['Alice', 'Bob']);
    if (!a || !b) throw new Error('setup');
    a.agent.setLocked(true);
    await h.sim.settle();
    const n = await h.sim.join({ name: 'Nina' }); // waits in the lobby
    expect(codeOf(n.agent.sendChat('hello?'))).toBe('NO_KEY'); // waiting-for-key
    await h.sim.settle();
    expect(n.log.state).toBe('lobby');
    expect(codeOf(n.agent.sendChat('hello?'))).toBe('NO_KEY');
    a.agent.remove(b.id);
    await h.sim.settle();
    expect(b.log.state).toBe('removed');
    expect(codeOf(b.agent.sendChat('still here'))).toBe('NO_KEY');
    expect(codeOf(a.agent.sendChat(''))).toBe('INVALID_ARGUMENT');
    expect(codeOf(a.agent.sendChat('x'.repeat(4001)))).toBe('INVALID_ARGUMENT');
    expect(h.traffic.filter((t) => t.plain.includes('"t":"chat"'))).toEqual([]);
  });

  it('rejects tampered, misattributed, replayed and undecryptable blobs, each with its own code', async () => {
    const h = harness();
    const [a, b, c] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    if (!a || !b || !c) throw new Error('setup');
    a.agent.setLocked(true);
    await h.sim.settle();
    const n = await h.sim.join({ name: 'Nina' }); // not a member: waits in the lobby
    await h.sim.settle();
    b.agent.sendChat('original');
    await h.sim.settle();
    const { message } = lastRelayed(h, 'chat', b.id);
    const m = message.chat;
    const epoch = m.epoch;
    const chatKey = secret(b, `epoch ${epoch} chat key`);
    inject(a, b.id, { type: 'chat', chat: { ...m, box: flipped(m.box, 30) } });
    inject(a, c.id, { type: 'chat', chat: m });
    inject(a, b.id, { type: 'chat', chat: { ...m, epoch: epoch + 5 } });
    inject(a, n.id, {
      type: 'chat',
      chat: createChat({
        meetingId: m.meetingId,
        instanceId: m.instanceId,
        epoch,
        senderId: n.id,
        seq: 1,
        text: 'hi',
        chatKey: systemRandom(32),
        identity: n.identity,
        random: systemRandom,
      }),
    });
    inject(a, b.id, { type: 'chat', chat: m });
    // Bob's own (valid) signature over a box sealed with some other key.
    inject(a, b.id, {
      type: 'chat',
      chat: createChat({
        meetingId: m.meetingId,
        instanceId: m.instanceId,
        epoch,
        senderId: b.id,
        seq: 9,
        text: 'x',
        chatKey: systemRandom(32),
        identity: b.identity,
        random: systemRandom,
      }),
    });
    await h.sim.settle();
    expect(codes(a)).toEqual([
      'CHAT_BAD_SIGNATURE',
      'SENDER_MISMATCH',
      'CHAT_UNKNOWN_EPOCH',
      'CHAT_NOT_A_MEMBER',
      'CHAT_REPLAY',
      'CHAT_DECRYPT_FAILED',
    ]);
    expect(a.log.errors.map((e) => e.from)).toEqual([b.id, c.id, b.id, n.id, b.id, b.id]);
    expect(a.log.chats.map((x) => x.text)).toEqual(['original']);
    // The genuine key does open the genuine box: the rejections were not for lack of it.
    expect(open(m.box, chatAd(m), chatKey)).toBeDefined();
  });

  it('opens messages still in flight under the previous epoch for the grace period, then no more', async () => {
    const h = harness();
    const [a, b] = await meeting(h, ['Alice', 'Bob']);
    if (!a || !b) throw new Error('setup');
    const old = a.agent.currentEpoch;
    // The server holds back two of Bob's messages to Alice, sent under the old epoch.
    h.drop = (from, to, payload) => from === b.id && to === a.id && payload.includes('"t":"chat"');
    b.agent.sendChat('in flight during the switch');
    b.agent.sendChat('delayed past the grace period');
    await h.sim.settle();
    h.drop = () => false;
    const [first, second] = h.traffic.filter((t) => t.plain.includes('"t":"chat"')).map((t) => t.plain) as [string, string];
    const t0 = h.clock.now();
    h.clock.setTimer(() => inject(a, b.id, first), 2000);
    h.clock.setTimer(() => inject(a, b.id, second), 10_000);
    await h.sim.join({ name: 'Carol' }); // a new epoch while the messages are held
    await h.sim.settle();
    const at = (event: string, epoch: number) => (a.log.timeline.find((x) => x.event === event && x.epoch === epoch)?.t ?? NaN) - t0;
    expect(at('send-key', old + 1)).toBeLessThan(2000); // Alice had switched when the first arrived…
    expect(at('retire-epoch', old)).toBeGreaterThan(2000); // …but still held the old key
    expect(at('retire-epoch', old)).toBeLessThan(10_000); // and had erased it when the second arrived
    expect(a.log.chats.map((x) => [x.text, x.epoch])).toEqual([['in flight during the switch', old]]);
    expect(codes(a)).toEqual(['CHAT_UNKNOWN_EPOCH']);
  });

  it('a newcomer cannot read chat from before it joined', async () => {
    const h = harness();
    const [a, b] = await meeting(h, ['Alice', 'Bob']);
    if (!a || !b) throw new Error('setup');
    b.agent.sendChat('before Nina came');
    await h.sim.settle();
    const { message, relayed } = lastRelayed(h, 'chat', b.id);
    const n = await h.sim.join({ name: 'Nina' });
    await h.sim.settle();
    expect(n.log.state).toBe('ok');
    inject(n, b.id, relayed.plain);
    await h.sim.settle();
    expect(codes(n)).toEqual(['CHAT_UNKNOWN_EPOCH']);
    expect(n.log.chats).toEqual([]);
    // Not a matter of policy: no secret Nina ever held opens it.
    expect(n.log.secrets.length).toBeGreaterThan(0);
    for (const s of n.log.secrets) expect(open(message.chat.box, chatAd(message.chat), s.bytes)).toBeUndefined();
    // Chat after her arrival reaches her.
    b.agent.sendChat('welcome');
    await h.sim.settle();
    expect(n.log.chats.map((x) => x.text)).toEqual(['welcome']);
  });

  it('rejects chat a removed member signs with the old epoch key it still holds', async () => {
    const h = harness();
    const [a, b, c] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    if (!a || !b || !c) throw new Error('setup');
    const old = a.agent.currentEpoch;
    const chatKey = secret(c, `epoch ${old} chat key`);
    const m = createChat({
      meetingId: 'harness',
      instanceId: lastRelayed(h, 'roster', a.id).message.roster.instanceId,
      epoch: old,
      senderId: c.id,
      seq: 1,
      text: 'you cannot get rid of me',
      chatKey,
      identity: c.identity,
      random: systemRandom,
    });
    const t0 = h.clock.now();
    // Delivered after the removal epoch, while Bob still holds the old key for in-flight messages.
    h.clock.setTimer(() => inject(b, c.id, encodeMessage({ type: 'chat', chat: m })), 2000);
    a.agent.remove(c.id);
    await h.sim.settle();
    const retired = (b.log.timeline.find((x) => x.event === 'retire-epoch' && x.epoch === old)?.t ?? NaN) - t0;
    expect(retired).toBeGreaterThan(2000);
    expect(codes(b)).toEqual(['CHAT_NOT_A_MEMBER']);
    expect(b.log.chats).toEqual([]);
  });
});

describe('test-only secret export', () => {
  it('reports every epoch key, chat key, X25519 private key and wrap key, none of which ever crosses the server', async () => {
    const h = harness();
    const [a, b, c] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    if (!a || !b || !c) throw new Error('setup');
    b.agent.sendChat('hello');
    h.sim.leave(a);
    await h.sim.settle();
    await h.sim.join({ name: 'Dan' });
    await h.sim.settle();
    const everyone = [...h.sim.members, ...h.sim.departed];
    for (const p of everyone) {
      const labels = p.log.secrets.map((s) => s.label);
      expect(labels).toContain(`X25519 private key of ${p.id}`);
      expect(labels.some((l) => /^epoch \d+ key$/.test(l))).toBe(true);
      expect(labels.some((l) => /^epoch \d+ chat key$/.test(l))).toBe(true);
      expect(labels.some((l) => l.startsWith('wrap key'))).toBe(true);
    }
    // What members report for an epoch is what its leader made.
    const epoch = b.agent.currentEpoch;
    const made = secret(b, `epoch ${epoch} key`);
    for (const p of h.sim.members) expect(secret(p, `epoch ${epoch} key`)).toEqual(made);
    expect(secret(c, `epoch ${epoch} chat key`)).toEqual(secret(b, `epoch ${epoch} chat key`));
    // The blindness check the browser audit does on real captures.
    const wire = h.traffic.map((t) => t.plain).join('\n');
    const leaked = everyone.flatMap((p) =>
      p.log.secrets.filter((s) => wire.includes(toBase64Url(s.bytes))).map((s) => `${p.id}: ${s.label}`),
    );
    expect(leaked).toEqual([]);
    expect(h.sim.check()).toEqual([]);
  });
});
