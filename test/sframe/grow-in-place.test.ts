// The two ways media-frame.ts builds an AES-GCM output frame: growing
// WebCrypto's result with ArrayBuffer.prototype.transfer (browsers, Node 22)
// or copying it into a new buffer (the fallback, Node 20). Both must give the
// same bytes, in a buffer of exactly the frame's length (RTCEncodedFrame.data
// takes the whole buffer). Node 20 has no transfer, so this file installs a
// stand-in with the spec's behaviour (new buffer, old one detached) where it
// is missing.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CIPHER_SUITES,
  createKeyContext,
  decryptMediaFrame,
  encryptMediaFrame,
  GROW_FROM_BYTES,
  setGrowInPlace,
  SFrameKeyStore,
  type KeyContext,
} from '../../shared/sframe/index.ts';
import { baseKey, codeOf, flipBit, frameOf, unwrap } from './fixtures.ts';

const proto = ArrayBuffer.prototype as ArrayBuffer & { transfer?: (n?: number) => ArrayBuffer };
const nativeTransfer = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'transfer');
const detached: ArrayBuffer[] = [];

/** ES2024 transfer(newLength) for runtimes without it: copy into a new buffer, detach the old one. */
function standInTransfer(this: ArrayBuffer, newLength = this.byteLength): ArrayBuffer {
  const out = new ArrayBuffer(newLength);
  new Uint8Array(out).set(new Uint8Array(this, 0, Math.min(newLength, this.byteLength)));
  structuredClone(this, { transfer: [this] });
  return out;
}

/** Wraps transfer so the test sees which buffers it detached. */
function install(transfer: (this: ArrayBuffer, n?: number) => ArrayBuffer): void {
  Object.defineProperty(ArrayBuffer.prototype, 'transfer', {
    configurable: true,
    writable: true,
    value(this: ArrayBuffer, n?: number) {
      const out = transfer.call(this, n);
      detached.push(this);
      return out;
    },
  });
}

const original = nativeTransfer?.value as ((this: ArrayBuffer, n?: number) => ArrayBuffer) | undefined;

beforeAll(() => install(original ?? standInTransfer));
afterEach(() => {
  install(original ?? standInTransfer);
  detached.length = 0;
});
afterAll(() => {
  if (nativeTransfer) Object.defineProperty(ArrayBuffer.prototype, 'transfer', nativeTransfer);
  else delete proto.transfer;
  setGrowInPlace(true); // back to the default for this runtime: on only where transfer exists
});

async function context(suite: 4 | 5 = 4): Promise<KeyContext> {
  return unwrap(await createKeyContext(CIPHER_SUITES[suite], 0xe0002n, baseKey(9, CIPHER_SUITES[suite].nh)));
}

async function sealBoth(ctx: KeyContext, codec: string, frame: Uint8Array): Promise<{ grown: Uint8Array; copied: Uint8Array }> {
  expect(setGrowInPlace(true, 0)).toBe(true);
  const grown = unwrap(await encryptMediaFrame(ctx, 0x1234n, codec, frame));
  expect(setGrowInPlace(false)).toBe(false);
  const copied = unwrap(await encryptMediaFrame(ctx, 0x1234n, codec, frame));
  return { grown, copied };
}

describe('output frame grown from the WebCrypto result', () => {
  it.each([
    ['vp8', 0x11, 10_000],
    ['vp8', 0x10, 60_000],
    ['opus', 0xfc, 100],
    ['vp9', 0x82, 500],
    ['vp8', 0x11, 3],
  ] as const)(
    '%s, first byte %d, %d bytes: same wire bytes and plaintext as the copy, in an exact-length buffer',
    async (codec, first, size) => {
      for (const suite of [4, 5] as const) {
        const ctx = await context(suite);
        const frame = frameOf(size, first);
        const { grown, copied } = await sealBoth(ctx, codec, frame);
        expect(grown).toEqual(copied);
        expect(grown.byteOffset).toBe(0);
        expect(grown.buffer.byteLength).toBe(grown.length);

        setGrowInPlace(true, 0);
        detached.length = 0;
        const opened = unwrap(await decryptMediaFrame(() => ctx, codec, grown));
        expect(opened.data).toEqual(frame);
        expect(opened.data.buffer.byteLength).toBe(frame.length);
        // The plaintext was grown from WebCrypto's result (frames with clear bytes), which is detached now.
        if (codec !== 'vp9') expect(detached.length).toBe(1);
        expect(grown).toEqual(copied); // the received frame itself is left alone
      }
    },
  );

  it('goes through the key store: round trip and AUTH_FAILED on a flipped bit', async () => {
    expect(setGrowInPlace(true)).toBe(true);
    const sender = new SFrameKeyStore();
    const receiver = new SFrameKeyStore();
    unwrap(await sender.setSendKey(7n, baseKey(3)));
    unwrap(await receiver.addReceiveKey(7n, baseKey(3)));
    const frame = frameOf(10_000, 0x11);
    const sealed = unwrap(await sender.encrypt('vp8', frame));
    expect(detached.length).toBe(1);
    expect(unwrap(await receiver.decrypt('vp8', sealed.data)).data).toEqual(frame);
    const again = unwrap(await sender.encrypt('vp8', frame));
    expect(codeOf(await receiver.decrypt('vp8', flipBit(again.data, 5000)))).toBe('AUTH_FAILED');
  });

  it(`grows by default only results of ${GROW_FROM_BYTES} bytes or more`, async () => {
    const ctx = await context();
    expect(setGrowInPlace(true)).toBe(true);
    for (const [size, grows] of [
      [100, 0],
      // A VP8 delta frame of n bytes seals to a result (ciphertext || tag) of n - 3 + 16 bytes.
      [GROW_FROM_BYTES - 14, 0],
      [GROW_FROM_BYTES - 13, 1],
      [10_000, 1],
    ] as const) {
      detached.length = 0;
      unwrap(await encryptMediaFrame(ctx, 1n, 'vp8', frameOf(size, 0x11)));
      expect([size, detached.length]).toEqual([size, grows]);
    }
  });

  it('copies instead when transfer throws, and when the runtime has none', async () => {
    const ctx = await context();
    const frame = frameOf(2000, 0x11);
    const { copied } = await sealBoth(ctx, 'vp8', frame);
    install(() => {
      throw new TypeError('not detachable');
    });
    expect(setGrowInPlace(true, 0)).toBe(true);
    const wire = unwrap(await encryptMediaFrame(ctx, 0x1234n, 'vp8', frame));
    expect(wire).toEqual(copied);
    expect(wire.buffer.byteLength).toBe(wire.length);
    expect(unwrap(await decryptMediaFrame(() => ctx, 'vp8', wire)).data).toEqual(frame);

    Object.defineProperty(ArrayBuffer.prototype, 'transfer', { configurable: true, writable: true, value: undefined });
    expect(setGrowInPlace(true)).toBe(false);
    expect(unwrap(await encryptMediaFrame(ctx, 0x1234n, 'vp8', frame))).toEqual(copied);
  });
});
