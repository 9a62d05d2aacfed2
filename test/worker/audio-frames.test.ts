// The microphone's frame format (protocol.md §7.3a): AES_128_CTR_HMAC_SHA256_64
// under a compact KID (the epoch modulo 8, inline in the config byte) and a
// per-sender audio key. Header, KID mapping, key derivation, the receiver's
// per-sender key slots, and the frame worker's stages on microphone streams.

import { describe, expect, it } from 'vitest';
import { WorkerKeys } from '../../client/src/e2ee/worker/keys.ts';
import { FrameCryptor, type EncodedFrame } from '../../client/src/e2ee/worker/pipeline.ts';
import type { TransformOptions } from '../../client/src/e2ee/worker/protocol.ts';
import { FrameStats } from '../../client/src/e2ee/worker/stats.ts';
import { AUDIO_SUITE, audioKid, deriveAudioBaseKey } from '../../shared/e2ee/audio-key.ts';
import { makeKid, mediaKid } from '../../shared/e2ee/kid.ts';
import { deriveFrameKeysSync } from '../../shared/e2ee/sender-keys.ts';
import {
  CIPHER_SUITES,
  decodeHeader,
  deriveSFrameSecrets,
  headerLength,
  sframeNonce,
  SlottedReceiveKeys,
  bytesToHex,
} from '../../shared/sframe/index.ts';

const OPUS_TOC = 0xfc;
const SUITE = CIPHER_SUITES[AUDIO_SUITE];
const FRAMES_PER_SECOND = 50; // 20 ms Opus frames

const keyOf = (seed: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (seed * 37 + i * 11 + 3) & 0xff);
const opus = (length = 60, seed = 1): Uint8Array => {
  const f = Uint8Array.from({ length }, (_, i) => (i * 29 + seed) & 0xff);
  f[0] = OPUS_TOC;
  return f;
};

/** A worker with a manual clock; `cryptor` builds microphone stages on it. */
function side() {
  const clock = { t: 5_000_000 };
  const keys = new WorkerKeys({ now: () => clock.t, schedule: () => {} });
  const stats = new FrameStats(() => clock.t);
  const cryptor = (o: Partial<TransformOptions> & Pick<TransformOptions, 'operation'>): FrameCryptor =>
    new FrameCryptor(
      { kind: 'audio', codec: 'opus', source: 'mic', participantId: 'self', transformId: 'mic', ...o },
      { keys, stats, now: () => clock.t, requestKeyFrame: () => {} },
    );
  return { clock, keys, stats, cryptor };
}

async function sealMic(keys: WorkerKeys, frame = opus()): Promise<Uint8Array> {
  const r = await keys.encrypt('opus', frame, 'mic');
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
  return r.data;
}

const asFrame = (data: Uint8Array): EncodedFrame => ({ data: data.slice().buffer });

describe('the microphone wire format', () => {
  it('is [TOC][config byte with the compact KID inline][CTR][ciphertext][8-byte tag]: 11 bytes per frame at CTR 8-255', async () => {
    const alice = side();
    await alice.keys.setSendKey(makeKid(11, 4), keyOf(1));
    const plain = opus(60);
    let wire: Uint8Array = new Uint8Array();
    for (let i = 0; i <= 8; i++) wire = await sealMic(alice.keys, plain); // CTR 8: one CTR byte
    expect(wire[0]).toBe(OPUS_TOC);
    expect(wire[1]).toBe((3 << 4) | 0x08); // X=0, K=11 mod 8=3, Y=1, C=0 (one CTR byte)
    expect(decodeHeader(wire, 1)).toMatchObject({ ok: true, value: { kid: 3n, ctr: 8n, length: 2 } });
    expect(wire.length - plain.length).toBe(2 + 8);
  });

  it('costs at most 12 bytes (4.8 kbps at 50 frames/s) for the first 2^24 frames of a KID: 93 hours', () => {
    const overhead = (ctr: bigint): number => headerLength(audioKid(makeKid(5, 200)), ctr) + SUITE.nt;
    expect(SUITE.nt).toBe(8);
    expect(overhead(0n)).toBe(9);
    expect(overhead(7n)).toBe(9);
    expect(overhead(255n)).toBe(10);
    expect(overhead(65_535n)).toBe(11); // 21.8 min of audio: 4.4 kbps
    expect(overhead(16_777_215n)).toBe(12); // 93.2 h: 4.8 kbps
    expect(overhead(16_777_216n)).toBe(13);
    expect((overhead(16_777_215n) * 8 * FRAMES_PER_SECOND) / 1000).toBeLessThanOrEqual(5);
    expect(16_777_216 / FRAMES_PER_SECOND / 3600).toBeGreaterThan(93);
  });

  it('maps epoch E to compact KID E mod 8, for any roster index', () => {
    expect([1, 2, 7, 8, 9, 15, 16, 2 ** 48 - 1].map((e) => audioKid(makeKid(e, 123)))).toEqual([1n, 2n, 7n, 0n, 1n, 7n, 0n, 7n]);
    expect(audioKid(makeKid(9, 0))).toBe(audioKid(makeKid(9, 16383)));
  });

  it('camera and screen share keep the full KID and the 16-byte AES-GCM tag', async () => {
    const alice = side();
    await alice.keys.setSendKey(makeKid(11, 4), keyOf(1));
    const r = await alice.keys.encrypt('vp8', Uint8Array.of(0x11, 1, 2, 3, 4, 5), 'camera');
    if (!r.ok) throw new Error(r.message);
    const h = decodeHeader(r.data, 3);
    expect(h).toMatchObject({ ok: true, value: { kid: mediaKid(makeKid(11, 4), 'camera'), ctr: 0n } });
    expect(r.data.length - 6).toBe((h.ok ? h.value.length : 0) + 16);
  });
});

describe('the audio key derivation', () => {
  it('gives different SFrame keys and nonces to two senders, two epochs and two meeting instances that share a compact KID and CTR', async () => {
    const labels = { meetingId: 'm', instanceId: 'i1', epoch: 1 };
    const epoch1 = deriveFrameKeysSync(keyOf(7), labels, ['alice', 'bob']);
    const epoch9 = deriveFrameKeysSync(keyOf(8), { ...labels, epoch: 9 }, ['alice', 'bob']);
    const otherInstance = deriveFrameKeysSync(keyOf(7), { ...labels, instanceId: 'i2' }, ['alice', 'bob']);
    const streams = [epoch1[0]!, epoch1[1]!, epoch9[0]!, otherInstance[0]!];
    expect(new Set(streams.map((s) => audioKid(s.kid)))).toEqual(new Set([1n])); // one compact KID for all four
    const ctr = 4242n;
    const derived = await Promise.all(
      streams.map(async (s) => {
        const audioKey = await deriveAudioBaseKey(s.baseKey, s.kid);
        const secrets = await deriveSFrameSecrets(SUITE, audioKid(s.kid), audioKey);
        return { key: bytesToHex(secrets.key), nonce: bytesToHex(sframeNonce(secrets.salt, ctr)), audioKey: bytesToHex(audioKey) };
      }),
    );
    expect(new Set(derived.map((d) => d.key)).size).toBe(4);
    expect(new Set(derived.map((d) => d.nonce)).size).toBe(4);
    // And the audio key is not the sender base key (which the video KIDs derive from).
    for (const [i, s] of streams.entries()) expect(derived[i]!.audioKey).not.toBe(bytesToHex(s.baseKey));
  });

  it('is a function of the sender base key and KID only: sender and receiver agree', async () => {
    const kid = makeKid(3, 2);
    expect(bytesToHex(await deriveAudioBaseKey(keyOf(1), kid))).toBe(bytesToHex(await deriveAudioBaseKey(keyOf(1), kid)));
    expect(bytesToHex(await deriveAudioBaseKey(keyOf(1), kid))).not.toBe(bytesToHex(await deriveAudioBaseKey(keyOf(1), makeKid(3, 3))));
  });
});

describe('per-sender compact KID slots', () => {
  const clockAt = { t: 0 };
  const slots = () => new SlottedReceiveKeys({ suite: AUDIO_SUITE, now: () => clockAt.t, schedule: () => {} });

  it('hold one key per slot: epoch E+8 erases epoch E, and epoch E arriving after E+8 is refused', async () => {
    const s = slots();
    expect((await s.add('alice', 1, keyOf(1))).ok).toBe(true);
    expect((await s.add('alice', 9, keyOf(9))).ok).toBe(true);
    expect(s.has('alice', 1)).toBe(false);
    expect(s.has('alice', 9)).toBe(true);
    expect(await s.add('alice', 1, keyOf(1))).toMatchObject({ ok: false, error: { code: 'KID_CONFLICT' } });
    expect(await s.add('alice', 9, keyOf(10))).toMatchObject({ ok: false, error: { code: 'KID_CONFLICT' } });
    expect((await s.add('alice', 9, keyOf(9))).ok).toBe(true); // the same key again: a no-op
    expect((await s.add('bob', 1, keyOf(1))).ok).toBe(true); // slots are per sender
    expect(s.ownersOf(1n).sort()).toEqual(['alice', 'bob']);
  });

  it('retire only the epoch named, after its grace period, even if it is retired before it is installed', async () => {
    clockAt.t = 0;
    const s = slots();
    await s.add('alice', 9, keyOf(9));
    s.retire('alice', 1, 0); // an older epoch in the same slot: not the key held
    expect(s.has('alice', 9)).toBe(true);
    s.retire('alice', 9, 1000);
    clockAt.t = 999;
    expect(s.has('alice', 9)).toBe(true);
    clockAt.t = 1000;
    expect(s.has('alice', 9)).toBe(false);
    s.retire('bob', 2, 500);
    await s.add('bob', 2, keyOf(2));
    expect(s.has('bob', 2)).toBe(true);
    clockAt.t = 1500;
    expect(s.has('bob', 2)).toBe(false);
  });
});

describe('microphone frames through the worker', () => {
  async function meeting() {
    const alice = side();
    const bob = side();
    const carol = side();
    const A = makeKid(1, 0);
    const B = makeKid(1, 1);
    await alice.keys.setSendKey(A, keyOf(1));
    await bob.keys.setSendKey(B, keyOf(2));
    for (const [who, kid, key] of [
      ['alice', A, keyOf(1)],
      ['bob', B, keyOf(2)],
    ] as const) {
      for (const s of [alice, bob, carol]) if (s.keys.sendKid !== kid) await s.keys.addReceiveKey(kid, who, key);
    }
    return { alice, bob, carol, A, B };
  }

  it('round-trip, reported under the full microphone KID (epoch, sender, source)', async () => {
    const { alice, carol, A } = await meeting();
    const out: EncodedFrame[] = [];
    const sent = await alice.cryptor({ operation: 'encrypt' }).encryptFrame(asFrame(opus(80)), { enqueue: (f) => out.push(f) });
    expect(sent).toMatchObject({ ok: true, kid: mediaKid(A, 'mic') });
    const got: EncodedFrame[] = [];
    const r = await carol.cryptor({ operation: 'decrypt', participantId: 'alice' }).decryptFrame(out[0]!, { enqueue: (f) => got.push(f) });
    expect(r).toMatchObject({ ok: true, kid: mediaKid(A, 'mic') });
    expect(new Uint8Array(got[0]!.data)).toEqual(opus(80));
  });

  it('are dropped, never sent in clear, without a send key', async () => {
    const lone = side();
    const out: EncodedFrame[] = [];
    const r = await lone.cryptor({ operation: 'encrypt' }).encryptFrame(asFrame(opus()), { enqueue: (f) => out.push(f) });
    expect(r).toMatchObject({ ok: false, code: 'NO_KEY' });
    expect(out).toEqual([]);
  });

  it("from Alice on the stream labelled Bob's: WRONG_SENDER (the frame opens under Alice's audio key), and nothing comes out", async () => {
    const { alice, carol } = await meeting();
    const asBob = carol.cryptor({ operation: 'decrypt', participantId: 'bob', transformId: 'r-bob' });
    const out: EncodedFrame[] = [];
    const wires = [await sealMic(alice.keys), await sealMic(alice.keys), await sealMic(alice.keys)];
    for (const w of wires) {
      expect(await asBob.decryptFrame(asFrame(w), { enqueue: (f) => out.push(f) })).toMatchObject({ ok: false, code: 'WRONG_SENDER' });
    }
    expect(out).toEqual([]);
    expect(carol.stats.snapshot().streams).toEqual([
      expect.objectContaining({ transformId: 'r-bob', decrypted: 0, dropped: { WRONG_SENDER: 3 } }),
    ]);
    // The same frames still open on Alice's own stream: finding their key did not move her replay window.
    const own = carol.cryptor({ operation: 'decrypt', participantId: 'alice', transformId: 'r-alice' });
    for (const w of wires) expect((await own.decryptFrame(asFrame(w), { enqueue: () => {} })).ok).toBe(true);
  });

  it('forged under no member key: AUTH_FAILED, and other keys are tried at most once a second per stream', async () => {
    const { alice, carol } = await meeting();
    const asBob = carol.cryptor({ operation: 'decrypt', participantId: 'bob' });
    const forged = (): EncodedFrame => {
      const w = new Uint8Array(opus(60));
      w.set([0x18, 0x40], 1); // compact KID 1, CTR 0x40
      return asFrame(w);
    };
    expect(await asBob.decryptFrame(forged(), { enqueue: () => {} })).toMatchObject({ ok: false, code: 'AUTH_FAILED' });
    // Within the second no other key is tried, so even Alice's genuine frame on Bob's stream only fails authentication...
    expect(await asBob.decryptFrame(asFrame(await sealMic(alice.keys)), { enqueue: () => {} })).toMatchObject({
      ok: false,
      code: 'AUTH_FAILED',
    });
    carol.clock.t += 1000;
    // ...until the next scan finds her.
    expect(await asBob.decryptFrame(asFrame(await sealMic(alice.keys)), { enqueue: () => {} })).toMatchObject({
      ok: false,
      code: 'WRONG_SENDER',
    });
  });

  it("on a video stream: a microphone frame is WRONG_SOURCE, a forged one under the sender's compact KID AUTH_FAILED", async () => {
    const { alice, carol } = await meeting();
    const screen = carol.cryptor({ operation: 'decrypt', participantId: 'alice', kind: 'video', source: 'screen', codec: 'opus' });
    const wire = await sealMic(alice.keys);
    const forged = wire.slice();
    forged[forged.length - 1]! ^= 1;
    expect(await screen.decrypt(forged)).toMatchObject({ ok: false, code: 'AUTH_FAILED' });
    expect(await screen.decrypt(wire)).toMatchObject({ ok: false, code: 'WRONG_SOURCE' });
  });

  it('never open when any byte is changed (header, CTR, ciphertext or tag), and a replay is refused', async () => {
    const { alice, carol } = await meeting();
    const rx = carol.cryptor({ operation: 'decrypt', participantId: 'alice' });
    const wire = await sealMic(alice.keys, opus(40));
    for (let i = 0; i < wire.length; i++) {
      for (const bit of [0, 3, 7]) {
        const m = wire.slice();
        m[i]! ^= 1 << bit;
        const r = await rx.decrypt(m);
        expect(r.ok, `byte ${i} bit ${bit}`).toBe(false);
      }
    }
    expect((await rx.decrypt(wire.slice())).ok).toBe(true);
    expect(await rx.decrypt(wire.slice())).toMatchObject({ ok: false, code: 'REPLAY' });
  });

  it('keep going out under epoch E+8 when epoch E (the same compact KID) is retired', async () => {
    const alice = side();
    await alice.keys.setSendKey(makeKid(1, 0), keyOf(1));
    await sealMic(alice.keys);
    await alice.keys.setSendKey(makeKid(9, 0), keyOf(9));
    alice.keys.retire(makeKid(1, 0), 0);
    const r = await alice.keys.encrypt('opus', opus(), 'mic');
    expect(r).toMatchObject({ ok: true, kid: mediaKid(makeKid(9, 0), 'mic') });
    // The compact KID's counter went on from epoch 1's (under a new key): it never goes back.
    if (r.ok) expect(decodeHeader(r.data, 1)).toMatchObject({ ok: true, value: { kid: 1n, ctr: 1n } });
  });

  it("from epoch E+8 open at a receiver that held epoch E in that slot; epoch E's frames then fail", async () => {
    const alice = side();
    const carol = side();
    await alice.keys.setSendKey(makeKid(1, 0), keyOf(1));
    await carol.keys.addReceiveKey(makeKid(1, 0), 'alice', keyOf(1));
    const old = await sealMic(alice.keys);
    await alice.keys.setSendKey(makeKid(9, 0), keyOf(9));
    await carol.keys.addReceiveKey(makeKid(9, 0), 'alice', keyOf(9));
    const rx = carol.cryptor({ operation: 'decrypt', participantId: 'alice' });
    expect(await rx.decrypt(await sealMic(alice.keys))).toMatchObject({ ok: true, kid: mediaKid(makeKid(9, 0), 'mic') });
    expect(await rx.decrypt(old)).toMatchObject({ ok: false, code: 'AUTH_FAILED' });
  });
});
