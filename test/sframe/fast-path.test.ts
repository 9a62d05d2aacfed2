// The AES-GCM per-frame fast path (scratch nonce/AAD, single-allocation
// layout, no nested async functions) must produce exactly the bytes of the
// generic path (encodeHeader + sframeNonce + aeadSeal + concatenation), and
// its shared scratch buffers must be safe with many frames in flight.

import { describe, expect, it } from 'vitest';
import {
  aeadSeal,
  CIPHER_SUITES,
  clearByteCount,
  createKeyContext,
  decryptMediaFrame,
  encodeHeader,
  encryptMediaFrame,
  parseMediaFrame,
  openMediaFrame,
  SFrameKeyStore,
  sframeNonce,
  type CipherSuiteId,
  type KeyContext,
} from '../../shared/sframe/index.ts';
import { baseKey, codeOf, flipBit, frameOf, MAX_U64, unwrap } from './fixtures.ts';

/** The RFC's definition, byte by byte with BigInt: the reference for sframeNonce. */
function referenceNonce(salt: Uint8Array, ctr: bigint): Uint8Array {
  const nonce = new Uint8Array(salt);
  let x = ctr;
  for (let i = nonce.length - 1; i >= 0 && x > 0n; i--) {
    nonce[i] = (nonce[i] ?? 0) ^ Number(x & 0xffn);
    x >>= 8n;
  }
  return nonce;
}

/** [clear][header][AEAD.Encrypt(...)] assembled from the generic building blocks. */
async function referenceFrame(ctx: KeyContext, ctr: bigint, codec: string, frame: Uint8Array): Promise<Uint8Array> {
  const clear = clearByteCount(codec, frame[0], frame.length)!;
  const header = unwrap(encodeHeader(ctx.kid, ctr));
  const metadata = frame.subarray(0, clear);
  const aad = new Uint8Array([...header, ...metadata]);
  const body = unwrap(await aeadSeal(ctx.suite, ctx.aead, referenceNonce(ctx.salt, ctr), aad, frame.subarray(clear)));
  return new Uint8Array([...metadata, ...header, ...body]);
}

const CTRS = [0n, 7n, 8n, 255n, 256n, 0xffffn, 0x10000n, 0xffffffffn, 0x100000000n, (1n << 40n) + 5n, (1n << 56n) - 1n, MAX_U64];
const KIDS = [0n, 7n, 0x42n, (12n << 16n) | 2n, MAX_U64];
const FRAMES: Array<[string, Uint8Array]> = [
  ['vp8', frameOf(300, 0x10)], // keyframe: 10 clear bytes
  ['vp8', frameOf(300, 0x11)], // delta: 3
  ['opus', frameOf(80, 0xfc)], // 1
  ['vp9', frameOf(120, 0x82)], // 0
  ['vp8', frameOf(10, 0x10)], // keyframe of only clear bytes: empty plaintext
];

describe('sframeNonce', () => {
  it('equals the byte-wise definition for counters of every width', () => {
    const salt = baseKey(200, 12);
    for (const ctr of [...CTRS, 0x1234_5678_9abc_def0n, 0x8000_0000n, 0x8000_0000_0000_0000n]) {
      expect(sframeNonce(salt, ctr)).toEqual(referenceNonce(salt, ctr));
    }
  });

  it('drops counter bytes beyond a short salt, as the byte-wise loop does', () => {
    for (const len of [0, 1, 3, 4, 5, 7, 8]) {
      const salt = baseKey(9, len);
      for (const ctr of [0x0102_0304_0506_0708n, MAX_U64, 0xabn]) expect(sframeNonce(salt, ctr)).toEqual(referenceNonce(salt, ctr));
    }
  });
});

describe.each([4, 5] as const)('AES-GCM fast path, suite %d', (suite: CipherSuiteId) => {
  it('writes the same bytes as the generic path for every header width and codec', async () => {
    for (const kid of KIDS) {
      const ctx = unwrap(await createKeyContext(CIPHER_SUITES[suite], kid, baseKey(suite, suite === 4 ? 16 : 32)));
      for (const ctr of CTRS) {
        for (const [codec, frame] of FRAMES) {
          const wire = unwrap(await encryptMediaFrame(ctx, ctr, codec, frame));
          expect(wire).toEqual(await referenceFrame(ctx, ctr, codec, frame));
          expect(wire.byteOffset).toBe(0);
          expect(wire.buffer.byteLength).toBe(wire.length); // frame.data = wire.buffer must be exactly the frame
          const back = unwrap(await decryptMediaFrame((k) => (k === kid ? ctx : undefined), codec, wire));
          expect(back.data).toEqual(frame);
          expect(back.data.buffer.byteLength).toBe(frame.length);
          expect([back.kid, back.ctr]).toEqual([kid, ctr]);
        }
      }
    }
  });

  it('keeps frames apart with many in flight at once (scratch nonce and AAD are reused)', async () => {
    const sender = new SFrameKeyStore({ suite });
    const receiver = new SFrameKeyStore({ suite });
    const key = baseKey(40 + suite, 16);
    unwrap(await sender.setSendKey(0x42n, key, 0xfff0n)); // crosses the 1- to 2-byte and the 0xffff..0x10000 counter boundary
    unwrap(await receiver.addReceiveKey(0x42n, key, { owner: 'p' }));
    const frames = Array.from({ length: 64 }, (_, i) => {
      const f = frameOf(50 + i * 37, i % 3 === 0 ? 0x10 : 0x11);
      f[20] = i;
      return f;
    });
    const sealed = await Promise.all(frames.map((f) => sender.encrypt('vp8', f)));
    const wires = sealed.map((r) => unwrap(r).data);
    const order = wires.map((_, i) => (i * 29) % wires.length); // a permutation: out-of-order arrival
    const opened = await Promise.all(order.map((i) => receiver.decrypt('vp8', wires[i]!)));
    opened.forEach((r, j) => expect(unwrap(r).data).toEqual(frames[order[j]!]));
    // Every counter used once, in call order.
    expect(sealed.map((r) => unwrap(r).ctr)).toEqual(frames.map((_, i) => 0xfff0n + BigInt(i)));
    // All again: each one is now a replay.
    const again = await Promise.all(wires.map((w) => receiver.decrypt('vp8', w)));
    expect(new Set(again.map(codeOf))).toEqual(new Set(['REPLAY']));
  });

  it('still authenticates the clear bytes and the header, and refuses a body shorter than the tag', async () => {
    const ctx = unwrap(await createKeyContext(CIPHER_SUITES[suite], 0x42n, baseKey(1, suite === 4 ? 16 : 32)));
    const keyFor = (k: bigint): KeyContext | undefined => (k === 0x42n ? ctx : undefined);
    const wire = unwrap(await encryptMediaFrame(ctx, 300n, 'vp8', frameOf(200, 0x11)));
    for (const at of [1, 2, 3, 4, 5, 6, 100, wire.length - 1]) {
      const r = await decryptMediaFrame(keyFor, 'vp8', flipBit(wire, at, 4));
      expect(['AUTH_FAILED', 'MALFORMED', 'UNKNOWN_KID']).toContain(codeOf(r));
    }
    // [3 clear][header][15 bytes]: one byte short of a tag.
    const short = wire.subarray(0, 3 + unwrap(encodeHeader(0x42n, 300n)).length + 15);
    const r = await decryptMediaFrame(keyFor, 'vp8', short);
    expect(r.ok ? 'OK' : r.error.detail).toBe('FRAME_TOO_SHORT');
    const parts = unwrap(parseMediaFrame('vp8', wire));
    expect(unwrap(await openMediaFrame(ctx, parts))).toEqual(frameOf(200, 0x11));
  });
});
