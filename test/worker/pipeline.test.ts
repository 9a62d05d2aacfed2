// The frame worker's per-frame stages (client/src/e2ee/worker/pipeline.ts),
// run in Node without a worker: the same FrameCryptor the worker pipes frames
// through, with real keys, real SFrame and real counters.

import { describe, expect, it } from 'vitest';
import { WorkerKeys } from '../../client/src/e2ee/worker/keys.ts';
import { FrameCryptor, KEYFRAME_REQUEST_INTERVAL_MS, type EncodedFrame } from '../../client/src/e2ee/worker/pipeline.ts';
import type { TransformOptions } from '../../client/src/e2ee/worker/protocol.ts';
import { FrameStats } from '../../client/src/e2ee/worker/stats.ts';
import { makeKid, mediaKid } from '../../shared/e2ee/kid.ts';

// Sender KIDs (source bits 0): the worker installs each sender's three source KIDs under its base key.
const ALICE_KID = makeKid(1, 1);
const BOB_KID = makeKid(1, 2);
/** What Alice's camera frames carry (the cryptors below default to camera streams). */
const ALICE_CAMERA = mediaKid(ALICE_KID, 'camera');
const ALICE_KEY = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const BOB_KEY = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);

const VP8_KEYFRAME = 0x10; // P bit clear: 10 clear bytes
const VP8_DELTA = 0x11; // P bit set: 3 clear bytes
const OPUS_TOC = 0xfc; // 1 clear byte

/** A frame as the encoder would hand it over: the first byte decides the codec's clear bytes. */
function encoded(first: number, length = 200, type: EncodedFrame['type'] = first === VP8_KEYFRAME ? 'key' : 'delta'): EncodedFrame {
  const data = Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 0xff);
  data[0] = first;
  return { data: data.buffer, type };
}

const bytes = (f: EncodedFrame): Uint8Array<ArrayBuffer> => new Uint8Array(f.data);

/** Collects what a stage passes on. */
function output(): { frames: EncodedFrame[]; enqueue(frame: EncodedFrame): void } {
  const frames: EncodedFrame[] = [];
  return { frames, enqueue: (frame) => frames.push(frame) };
}

interface Side {
  keys: WorkerKeys;
  stats: FrameStats;
  keyFrameRequests: number;
  clock: { t: number };
  cryptor(options: Partial<TransformOptions> & Pick<TransformOptions, 'operation'>): FrameCryptor;
}

/** One participant's worker state: its keys, counters and a manual clock. */
function side(): Side {
  const clock = { t: 1_000_000 };
  const s: Side = {
    keys: new WorkerKeys({ now: () => clock.t, schedule: () => {} }),
    stats: new FrameStats(() => clock.t),
    keyFrameRequests: 0,
    clock,
    cryptor: (options) =>
      new FrameCryptor(
        { kind: 'video', codec: 'vp8', source: 'camera', participantId: 'self', transformId: 't1', ...options },
        { keys: s.keys, stats: s.stats, now: () => clock.t, requestKeyFrame: () => s.keyFrameRequests++ },
      ),
  };
  return s;
}

/** Alice sends; Bob holds Alice's key (and his own send key), as after a key agreement. */
async function meeting(): Promise<{ alice: Side; bob: Side }> {
  const alice = side();
  const bob = side();
  await alice.keys.setSendKey(ALICE_KID, ALICE_KEY);
  await bob.keys.setSendKey(BOB_KID, BOB_KEY);
  await bob.keys.addReceiveKey(ALICE_KID, 'alice', ALICE_KEY);
  await alice.keys.addReceiveKey(BOB_KID, 'bob', BOB_KEY);
  return { alice, bob };
}

async function sealed(from: Side, frame: EncodedFrame, codec = 'vp8'): Promise<EncodedFrame> {
  const out = output();
  const r = await from.cryptor({ operation: 'encrypt', codec }).encryptFrame(frame, out);
  expect(r.ok).toBe(true);
  return out.frames[0]!;
}

describe('encrypt stage', () => {
  it('passes on an SFrame frame under the send key and counts it', async () => {
    const { alice } = await meeting();
    const out = output();
    const plain = bytes(encoded(VP8_DELTA));
    const r = await alice.cryptor({ operation: 'encrypt' }).encryptFrame(encoded(VP8_DELTA), out);
    expect(r).toMatchObject({ ok: true, kid: ALICE_CAMERA });
    expect(out.frames).toHaveLength(1);
    expect(bytes(out.frames[0]!).length).toBeGreaterThan(plain.length);
    expect(alice.stats.snapshot().send).toMatchObject({ encrypted: 1, kid: ALICE_CAMERA, dropped: {} });
  });

  it('drops a frame when there is no send key, and never passes it on in clear', async () => {
    const alice = side();
    const out = output();
    const r = await alice.cryptor({ operation: 'encrypt' }).encryptFrame(encoded(VP8_DELTA), out);
    expect(r).toMatchObject({ ok: false, code: 'NO_KEY' });
    expect(out.frames).toEqual([]);
    expect(alice.stats.snapshot().send).toMatchObject({ encrypted: 0, dropped: { NO_KEY: 1 } });
  });

  it('drops frames again once the send key is cleared', async () => {
    const { alice } = await meeting();
    alice.keys.clearSendKey();
    const out = output();
    expect(await alice.cryptor({ operation: 'encrypt' }).encryptFrame(encoded(OPUS_TOC), out)).toMatchObject({ ok: false, code: 'NO_KEY' });
    expect(out.frames).toEqual([]);
  });

  it('drops frames with NO_KEY after a refused send key, never sending under the previous one', async () => {
    // Bob sends under epoch 1. The next epoch's KID is one this worker holds as
    // a receive key (a KID of an older meeting instance): the key is refused.
    const { bob } = await meeting();
    const nextKid = makeKid(2, 1);
    expect((await bob.keys.addReceiveKey(nextKid, 'carol', ALICE_KEY)).ok).toBe(true);
    const refused = await bob.keys.setSendKey(nextKid, BOB_KEY);
    expect(refused).toMatchObject({ ok: false, error: { code: 'KID_CONFLICT' } });
    expect(bob.keys.sendKid).toBeUndefined();
    const out = output();
    const sender = bob.cryptor({ operation: 'encrypt' });
    for (const first of [VP8_KEYFRAME, VP8_DELTA, VP8_DELTA]) {
      expect(await sender.encryptFrame(encoded(first), out)).toMatchObject({ ok: false, code: 'NO_KEY' });
    }
    expect(out.frames).toEqual([]);
    expect(bob.stats.snapshot().send).toMatchObject({ encrypted: 0, dropped: { NO_KEY: 3 }, lastError: { code: 'NO_KEY' } });
  });

  it('refuses a receive key for our own sender KID, even one that arrives while our send key is being derived', async () => {
    const alice = side();
    const pending = alice.keys.setSendKey(ALICE_KID, ALICE_KEY);
    expect(await alice.keys.addReceiveKey(ALICE_KID, 'mallory', BOB_KEY)).toMatchObject({ ok: false, error: { code: 'KID_CONFLICT' } });
    expect((await pending).ok).toBe(true);
    expect(alice.keys.sendKid).toBe(ALICE_KID);
  });

  it.each([
    ['vp8', VP8_KEYFRAME, 10],
    ['vp8', VP8_DELTA, 3],
    ['opus', OPUS_TOC, 1],
    ['vp9', 0x82, 0],
  ] as const)('keeps the %s clear bytes of a frame starting %d: %d bytes readable by the SFU', async (codec, first, clear) => {
    const { alice } = await meeting();
    const plain = bytes(encoded(first));
    const wire = bytes(await sealed(alice, encoded(first), codec));
    expect(wire.subarray(0, clear)).toEqual(plain.subarray(0, clear));
    // Right after the clear bytes comes the SFrame header, not the rest of the frame.
    expect(wire.subarray(clear, clear + 8)).not.toEqual(plain.subarray(clear, clear + 8));
  });
});

describe('decrypt stage', () => {
  it('gives back the original frame, counted for the sender and the stream', async () => {
    const { alice, bob } = await meeting();
    const out = output();
    const original = bytes(encoded(VP8_KEYFRAME));
    const receiver = bob.cryptor({ operation: 'decrypt', participantId: 'alice', transformId: 'r1' });
    const r = await receiver.decryptFrame(await sealed(alice, encoded(VP8_KEYFRAME)), out);
    expect(r).toMatchObject({ ok: true, kid: ALICE_CAMERA });
    expect(bytes(out.frames[0]!)).toEqual(original);
    expect(out.frames[0]!.type).toBe('key');
    const snap = bob.stats.snapshot();
    expect(snap.receive).toEqual([
      { participantId: 'alice', decrypted: 1, dropped: {}, lastKid: ALICE_CAMERA, lastDecryptAt: bob.clock.t },
    ]);
    expect(snap.streams).toEqual([{ transformId: 'r1', decrypted: 1, dropped: {}, lastKid: ALICE_CAMERA, lastDecryptAt: bob.clock.t }]);
  });

  it('round-trips Opus and VP8 frames through piped TransformStreams, as the worker runs them', async () => {
    const { alice, bob } = await meeting();
    for (const [codec, kind, mediaSource, first] of [
      ['opus', 'audio', 'mic', OPUS_TOC],
      ['vp8', 'video', 'camera', VP8_DELTA],
    ] as const) {
      const enc = alice.cryptor({ operation: 'encrypt', codec, kind, source: mediaSource }).toTransformStream();
      const dec = bob
        .cryptor({ operation: 'decrypt', codec, kind, source: mediaSource, participantId: 'alice', transformId: `r-${codec}` })
        .toTransformStream();
      const source = new ReadableStream<EncodedFrame>({
        start(c) {
          for (let i = 0; i < 5; i++) c.enqueue(encoded(first, 50 + i));
          c.close();
        },
      });
      const got: Uint8Array[] = [];
      await source
        .pipeThrough(enc)
        .pipeThrough(dec)
        .pipeTo(new WritableStream({ write: (f) => void got.push(bytes(f)) }));
      expect(got).toEqual([0, 1, 2, 3, 4].map((i) => bytes(encoded(first, 50 + i))));
    }
  });

  it('drops and counts a frame whose KID it holds no key for', async () => {
    const { bob } = await meeting();
    const carol = side();
    await carol.keys.setSendKey(makeKid(3, 3), ALICE_KEY);
    const out = output();
    const receiver = bob.cryptor({ operation: 'decrypt', participantId: 'carol', transformId: 'r9' });
    const r = await receiver.decryptFrame(await sealed(carol, encoded(VP8_DELTA)), out);
    expect(r).toMatchObject({ ok: false, code: 'UNKNOWN_KID' });
    expect(out.frames).toEqual([]);
    expect(bob.stats.snapshot().receive[0]).toMatchObject({
      participantId: 'carol',
      decrypted: 0,
      dropped: { UNKNOWN_KID: 1 },
      lastError: { code: 'UNKNOWN_KID' },
    });
  });

  it('drops and counts a frame that fails authentication', async () => {
    const { alice, bob } = await meeting();
    const wire = bytes(await sealed(alice, encoded(VP8_DELTA)));
    wire[wire.length - 1]! ^= 0x01;
    const out = output();
    const r = await bob.cryptor({ operation: 'decrypt', participantId: 'alice' }).decryptFrame({ data: wire.buffer, type: 'delta' }, out);
    expect(r).toMatchObject({ ok: false, code: 'AUTH_FAILED' });
    expect(out.frames).toEqual([]);
    expect(bob.stats.snapshot().receive[0]!.dropped).toEqual({ AUTH_FAILED: 1 });
  });

  it('drops and counts a replayed frame', async () => {
    const { alice, bob } = await meeting();
    const wire = bytes(await sealed(alice, encoded(VP8_DELTA)));
    const receiver = bob.cryptor({ operation: 'decrypt', participantId: 'alice' });
    const out = output();
    expect((await receiver.decryptFrame({ data: wire.slice().buffer }, out)).ok).toBe(true);
    expect(await receiver.decryptFrame({ data: wire.slice().buffer }, out)).toMatchObject({ ok: false, code: 'REPLAY' });
    expect(out.frames).toHaveLength(1);
    expect(bob.stats.snapshot().receive[0]).toMatchObject({ decrypted: 1, dropped: { REPLAY: 1 } });
  });

  it("drops a frame that decrypts under another sender's key (WRONG_SENDER): a re-routed stream", async () => {
    const { alice, bob } = await meeting();
    const out = output();
    // Alice's genuine frame arrives on the receiver the server labelled as Dave's.
    const receiver = bob.cryptor({ operation: 'decrypt', participantId: 'dave', transformId: 'r-dave' });
    const r = await receiver.decryptFrame(await sealed(alice, encoded(VP8_DELTA)), out);
    expect(r).toMatchObject({ ok: false, code: 'WRONG_SENDER' });
    expect(out.frames).toEqual([]);
    const stream = expect.objectContaining({ transformId: 'r-dave', decrypted: 0, dropped: { WRONG_SENDER: 1 } });
    expect(bob.stats.snapshot().streams).toEqual([stream]);
  });

  it.each([
    ['camera', 'screen', 'video', 'vp8', VP8_DELTA],
    ['screen', 'camera', 'video', 'vp8', VP8_DELTA],
    ['mic', 'camera', 'video', 'opus', OPUS_TOC],
    ['camera', 'mic', 'audio', 'vp8', VP8_DELTA],
  ] as const)(
    "drops Alice's %s frame on the receiver the server labelled as her %s (WRONG_SOURCE): a relabelled stream",
    async (sent, labelled, kind, codec, first) => {
      const { alice, bob } = await meeting();
      const out = output();
      const wire = await alice.cryptor({ operation: 'encrypt', source: sent, codec }).encryptFrame(encoded(first), output());
      expect(wire).toMatchObject({ ok: true, kid: mediaKid(ALICE_KID, sent) });
      const sealedFrame = { data: (wire as { data: Uint8Array<ArrayBuffer> }).data.buffer };
      const receiver = bob.cryptor({
        operation: 'decrypt',
        participantId: 'alice',
        source: labelled,
        kind,
        codec,
        transformId: 'r-relabel',
      });
      const r = await receiver.decryptFrame(sealedFrame, out);
      expect(r).toMatchObject({ ok: false, code: 'WRONG_SOURCE' });
      expect(out.frames).toEqual([]);
      const stream = expect.objectContaining({ transformId: 'r-relabel', decrypted: 0, dropped: { WRONG_SOURCE: 1 } });
      expect(bob.stats.snapshot().streams).toEqual([stream]);
    },
  );

  it("drops Bob's camera frame on the receiver labelled as Alice's camera (WRONG_SENDER before any source check)", async () => {
    const { alice, bob } = await meeting();
    const carol = side();
    await carol.keys.addReceiveKey(ALICE_KID, 'alice', ALICE_KEY);
    await carol.keys.addReceiveKey(BOB_KID, 'bob', BOB_KEY);
    const fromBob = await sealed(bob, encoded(VP8_DELTA));
    const fromAlice = await sealed(alice, encoded(VP8_DELTA));
    const asAlice = carol.cryptor({ operation: 'decrypt', participantId: 'alice', transformId: 'r-alice' });
    const asBob = carol.cryptor({ operation: 'decrypt', participantId: 'bob', transformId: 'r-bob' });
    expect(await asAlice.decryptFrame(fromBob, output())).toMatchObject({ ok: false, code: 'WRONG_SENDER' });
    expect(await asBob.decryptFrame(fromAlice, output())).toMatchObject({ ok: false, code: 'WRONG_SENDER' });
  });

  it('the three sources of one sender decrypt under three different keys: no source KID opens another source frame', async () => {
    const { alice } = await meeting();
    const wire = bytes(await sealed(alice, encoded(VP8_DELTA)));
    // Rewrite the KID in the header (right after VP8's 3 clear bytes) from camera to screen: the tag no longer verifies.
    const header = wire[3]!;
    const kidLength = header & 0x80 ? ((header >> 4) & 0x07) + 1 : 0;
    expect(kidLength).toBeGreaterThan(0);
    const kidEnd = 3 + 1 + kidLength;
    expect(wire[kidEnd - 1]! & 0x03).toBe(2); // camera
    wire[kidEnd - 1] = (wire[kidEnd - 1]! & ~0x03) | 3; // screen
    const bob = side();
    await bob.keys.addReceiveKey(ALICE_KID, 'alice', ALICE_KEY);
    const r = await bob
      .cryptor({ operation: 'decrypt', participantId: 'alice', source: 'screen' })
      .decryptFrame({ data: wire.buffer }, output());
    expect(r).toMatchObject({ ok: false, code: 'AUTH_FAILED' });
  });

  it('drops a frame whose KID belongs to an old epoch once its grace period is over', async () => {
    const { alice, bob } = await meeting();
    const receiver = bob.cryptor({ operation: 'decrypt', participantId: 'alice' });
    const inFlight = await sealed(alice, encoded(VP8_DELTA));
    const late = await sealed(alice, encoded(VP8_DELTA));
    bob.keys.retire(ALICE_KID, 2000);
    bob.clock.t += 1000;
    expect((await receiver.decryptFrame(inFlight, output())).ok).toBe(true); // still within the grace period
    bob.clock.t += 1500;
    expect(await receiver.decryptFrame(late, output())).toMatchObject({ ok: false, code: 'UNKNOWN_KID' });
  });

  it('asks for a keyframe after drops, at most once a second, until a keyframe arrives', async () => {
    const { alice, bob } = await meeting();
    const receiver = bob.cryptor({ operation: 'decrypt', participantId: 'alice', kind: 'video' });
    const frames = await Promise.all([VP8_DELTA, VP8_DELTA, VP8_DELTA, VP8_KEYFRAME, VP8_DELTA].map((f) => sealed(alice, encoded(f))));
    const garbage = (): EncodedFrame => ({ data: Uint8Array.of(VP8_DELTA, 0, 0, 0x10, 1, 2, 3).buffer, type: 'delta' });
    await receiver.decryptFrame(garbage(), output());
    await receiver.decryptFrame(frames[0]!, output()); // decodes, but the decoder lost its reference
    await receiver.decryptFrame(frames[1]!, output());
    expect(bob.keyFrameRequests).toBe(1);
    bob.clock.t += KEYFRAME_REQUEST_INTERVAL_MS;
    await receiver.decryptFrame(frames[2]!, output());
    expect(bob.keyFrameRequests).toBe(2);
    await receiver.decryptFrame(frames[3]!, output()); // the keyframe: recovered
    bob.clock.t += KEYFRAME_REQUEST_INTERVAL_MS;
    await receiver.decryptFrame(frames[4]!, output());
    expect(bob.keyFrameRequests).toBe(2);
  });

  it('never asks for a keyframe on an audio stream', async () => {
    const { alice, bob } = await meeting();
    const receiver = bob.cryptor({ operation: 'decrypt', participantId: 'alice', kind: 'audio', codec: 'opus' });
    await receiver.decryptFrame({ data: Uint8Array.of(OPUS_TOC, 0x10, 9).buffer }, output());
    expect((await receiver.decryptFrame(await sealed(alice, encoded(OPUS_TOC), 'opus'), output())).ok).toBe(true);
    expect(bob.keyFrameRequests).toBe(0);
  });
});
