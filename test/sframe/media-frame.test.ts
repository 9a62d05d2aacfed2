import { describe, expect, it } from 'vitest';
import {
  CIPHER_SUITES,
  clearByteCount,
  createKeyContext,
  decodeHeader,
  decryptMediaFrame,
  encryptMediaFrame,
  type KeyContext,
} from '../../shared/sframe/index.ts';
import { baseKey, codeOf, flipBit, frameOf, unwrap } from './fixtures.ts';

const VP8_KEY = 0x10; // P bit (bit 0) clear: keyframe
const VP8_DELTA = 0x11; // P bit set: interframe

async function context(kid = 0x42n): Promise<KeyContext> {
  return unwrap(await createKeyContext(CIPHER_SUITES[4], kid, baseKey(7)));
}

describe('clear bytes per codec', () => {
  it.each([
    ['vp8', VP8_KEY, 1000, 10],
    ['vp8', VP8_DELTA, 1000, 3],
    ['opus', 0xfc, 60, 1],
    ['vp9', 0x82, 1000, 0],
    ['h264', 0x00, 1000, 0],
    ['av1', 0x12, 1000, 0],
    ['video/VP8', VP8_KEY, 1000, 10],
    ['audio/opus', 0x78, 10, 1],
  ] as const)('%s, first byte %d, %d bytes: %d clear bytes', (codec, first, length, expected) => {
    expect(clearByteCount(codec, first, length)).toBe(expected);
  });

  it('has no answer for frames shorter than their clear bytes (the sender refuses them)', () => {
    expect(clearByteCount('vp8', VP8_KEY, 9)).toBeUndefined();
    expect(clearByteCount('vp8', VP8_DELTA, 2)).toBeUndefined();
    expect(clearByteCount('vp8', undefined, 0)).toBeUndefined();
    expect(clearByteCount('opus', undefined, 0)).toBeUndefined();
    expect(clearByteCount('vp9', undefined, 0)).toBe(0);
  });
});

describe('media frame layout [clear][header][ciphertext][tag]', () => {
  it.each([
    ['vp8', VP8_KEY, 10],
    ['vp8', VP8_DELTA, 3],
    ['opus', 0xfc, 1],
    ['vp9', 0x82, 0],
  ] as const)('%s (first byte %d) leaves %d bytes in clear and round-trips', async (codec, first, clear) => {
    const ctx = await context();
    const frame = frameOf(300, first);
    const wire = unwrap(await encryptMediaFrame(ctx, 0x4567n, codec, frame));
    expect(wire.subarray(0, clear)).toEqual(frame.subarray(0, clear));
    const header = unwrap(decodeHeader(wire, clear));
    expect(header).toMatchObject({ kid: 0x42n, ctr: 0x4567n });
    expect(wire.length).toBe(frame.length + header.length + 16);
    // Nothing after the clear bytes is readable plaintext.
    expect(wire.subarray(clear + header.length, clear + header.length + 32)).not.toEqual(frame.subarray(clear, clear + 32));
    const back = unwrap(await decryptMediaFrame(() => ctx, codec, wire));
    expect(back).toEqual({ kid: 0x42n, ctr: 0x4567n, data: frame });
  });

  it('authenticates the clear bytes: a flipped bit there gives AUTH_FAILED', async () => {
    const ctx = await context();
    for (const [codec, first, at] of [
      ['vp8', VP8_KEY, 5],
      ['vp8', VP8_DELTA, 2],
      ['opus', 0xfc, 0],
    ] as const) {
      const wire = unwrap(await encryptMediaFrame(ctx, 1n, codec, frameOf(200, first)));
      expect(codeOf(await decryptMediaFrame(() => ctx, codec, flipBit(wire, at, 3)))).toBe('AUTH_FAILED');
    }
  });

  it('rejects a VP8 frame whose keyframe bit was flipped in transit', async () => {
    const ctx = await context();
    const wire = unwrap(await encryptMediaFrame(ctx, 1n, 'vp8', frameOf(200, VP8_KEY)));
    // The receiver now expects 3 clear bytes and reads the header from the wrong place.
    const r = await decryptMediaFrame(() => ctx, 'vp8', flipBit(wire, 0, 0));
    expect(r.ok).toBe(false);
  });

  it('rejects a flipped bit in the header, ciphertext or tag with AUTH_FAILED', async () => {
    const ctx = await context();
    const wire = unwrap(await encryptMediaFrame(ctx, 0x4567n, 'vp8', frameOf(200, VP8_DELTA)));
    const keyFor = () => ctx;
    // Header at 3: config, KID (1 byte), CTR (2 bytes); flip the CTR's last byte.
    expect(codeOf(await decryptMediaFrame(keyFor, 'vp8', flipBit(wire, 3 + 3)))).toBe('AUTH_FAILED');
    expect(codeOf(await decryptMediaFrame(keyFor, 'vp8', flipBit(wire, 50, 4)))).toBe('AUTH_FAILED');
    expect(codeOf(await decryptMediaFrame(keyFor, 'vp8', flipBit(wire, wire.length - 1, 0)))).toBe('AUTH_FAILED');
  });

  it('refuses to encrypt frames shorter than their clear bytes, and never returns cleartext', async () => {
    const ctx = await context();
    for (const [codec, frame] of [
      ['vp8', frameOf(9, VP8_KEY)],
      ['vp8', frameOf(2, VP8_DELTA)],
      ['vp8', new Uint8Array()],
      ['opus', new Uint8Array()],
    ] as const) {
      expect(await encryptMediaFrame(ctx, 1n, codec, frame)).toMatchObject({
        ok: false,
        error: { code: 'MALFORMED', detail: 'FRAME_TOO_SHORT' },
      });
    }
  });

  it('encrypts an empty VP9 frame to header || tag', async () => {
    const ctx = await context();
    const wire = unwrap(await encryptMediaFrame(ctx, 3n, 'vp9', new Uint8Array()));
    expect(wire.length).toBe(2 + 16);
    expect(unwrap(await decryptMediaFrame(() => ctx, 'vp9', wire)).data.length).toBe(0);
  });

  it('reports MALFORMED for a received frame cut inside the clear bytes or header', async () => {
    const ctx = await context(0x123456n);
    const wire = unwrap(await encryptMediaFrame(ctx, 0x4567n, 'vp8', frameOf(100, VP8_KEY)));
    expect(codeOf(await decryptMediaFrame(() => ctx, 'vp8', wire.subarray(0, 8)))).toBe('MALFORMED');
    expect(codeOf(await decryptMediaFrame(() => ctx, 'vp8', wire.subarray(0, 13)))).toBe('MALFORMED');
  });
});
