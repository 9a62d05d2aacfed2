// The per-frame Number path (header.ts writeHeaderN, frame.ts writeNonceN,
// the key store's Number send counter) must give exactly the bytes and the
// counters of the BigInt path, and hand over to BigInt at 2^53 without a gap
// or a repeat, up to the end of the counter space at 2^64 - 1.

import { describe, expect, it } from 'vitest';
import { CIPHER_SUITES, createKeyContext, decodeHeader, headerLength, SFrameKeyStore, type KeyContext } from '../../shared/sframe/index.ts';
import { writeNonce, writeNonceN } from '../../shared/sframe/frame.ts';
import { exactNumber, headerLengthN, MAX_EXACT, writeHeader, writeHeaderN } from '../../shared/sframe/header.ts';
import { sealMediaFrame } from '../../shared/sframe/media-frame.ts';
import { baseKey, codeOf, frameOf, MAX_U64, unwrap } from './fixtures.ts';

const TWO_53 = 1n << 53n;

/** 0..20, and 2^k - 2 .. 2^k + 1 for every field-length boundary (k = 8, 16, …, 48) and 2^32, up to 2^53 - 1. */
const EXACT_VALUES: readonly bigint[] = (() => {
  const xs = new Set<bigint>();
  for (let v = 0n; v <= 20n; v++) xs.add(v);
  for (const k of [8n, 16n, 24n, 32n, 40n, 48n, 52n, 53n]) {
    for (const d of [-2n, -1n, 0n, 1n]) {
      const v = (1n << k) + d;
      if (v <= TWO_53 - 1n) xs.add(v);
    }
  }
  xs.add(123456789012345n);
  return [...xs];
})();

describe('exactNumber', () => {
  it('is the Number for 0..2^53-1 and -1 outside', () => {
    expect(exactNumber(0n)).toBe(0);
    expect(exactNumber(TWO_53 - 1n)).toBe(MAX_EXACT);
    expect(exactNumber(TWO_53)).toBe(-1);
    expect(exactNumber(MAX_U64)).toBe(-1);
    expect(exactNumber(-1n)).toBe(-1);
  });
});

describe('writeHeaderN', () => {
  it('writes the bytes of writeHeader for KIDs and CTRs around every length boundary up to 2^53 - 1', () => {
    for (const kid of EXACT_VALUES) {
      for (const ctr of EXACT_VALUES) {
        const len = headerLength(kid, ctr);
        expect(headerLengthN(Number(kid), Number(ctr))).toBe(len);
        const a = new Uint8Array(20).fill(0xee);
        const b = new Uint8Array(20).fill(0xee);
        expect(writeHeaderN(a, 2, Number(kid), Number(ctr))).toBe(len);
        writeHeader(b, 2, kid, ctr);
        expect(a).toEqual(b);
        expect(unwrap(decodeHeader(a, 2))).toEqual({ kid, ctr, length: len });
      }
    }
  });
});

describe('writeNonceN', () => {
  it('writes the nonce of writeNonce for CTRs around every boundary up to 2^53 - 1', () => {
    const salt = Uint8Array.from({ length: 12 }, (_, i) => (i * 37 + 11) & 0xff);
    for (const ctr of EXACT_VALUES) {
      const a = new Uint8Array(12);
      const b = new Uint8Array(12);
      writeNonceN(a, salt, Number(ctr));
      writeNonce(b, salt, ctr);
      expect(a).toEqual(b);
    }
  });
});

/** The frame the BigInt path seals under (ctx, ctr): ctrN = -1 forces header and nonce through BigInt. */
async function bigintFrame(ctx: KeyContext, ctr: bigint, codec: string, frame: Uint8Array): Promise<Uint8Array> {
  return unwrap(await sealMediaFrame(ctx, ctr, -1, codec, frame, (data) => ({ ok: true, value: data })));
}

describe('sealMediaFrame with a Number counter', () => {
  it('seals the same bytes as with the BigInt counter, for small and large KIDs', async () => {
    const frame = frameOf(300, 0x11);
    for (const kid of [3n, 300n, TWO_53 - 1n, TWO_53, MAX_U64]) {
      const ctx = unwrap(await createKeyContext(CIPHER_SUITES[4], kid, baseKey(kid === MAX_U64 ? 9 : Number(kid % 200n))));
      for (const ctr of [0n, 7n, 8n, 0xffffffffn, 0x100000000n, TWO_53 - 2n, TWO_53 - 1n]) {
        const fast = unwrap(await sealMediaFrame(ctx, ctr, Number(ctr), 'vp8', frame, (data) => ({ ok: true, value: data })));
        expect(fast).toEqual(await bigintFrame(ctx, ctr, 'vp8', frame));
      }
    }
  });
});

describe('the key store send counter across 2^53 and up to 2^64 - 1', () => {
  const KID = 5n;
  const KEY = baseKey(40);

  /** Encrypts `n` frames and checks each one's counter, header and bytes against the BigInt path, and that it opens. */
  async function sendAndCheck(store: SFrameKeyStore, receiver: SFrameKeyStore, first: bigint, n: number): Promise<void> {
    const ctx = unwrap(await createKeyContext(CIPHER_SUITES[4], KID, KEY));
    const frame = frameOf(200, 0x21);
    for (let i = 0; i < n; i++) {
      const ctr = first + BigInt(i);
      expect(store.nextCtr).toBe(ctr);
      const sent = unwrap(await store.encrypt('vp8', frame));
      expect(sent.ctr).toBe(ctr);
      expect(typeof sent.ctr).toBe('bigint');
      expect(sent.data).toEqual(await bigintFrame(ctx, ctr, 'vp8', frame));
      const got = unwrap(await receiver.decrypt('vp8', sent.data));
      expect(got.ctr).toBe(ctr);
      expect(got.data).toEqual(frame);
    }
  }

  /** A sender whose counter starts at `floor`, and a receiver of its key. */
  async function sendingFrom(floor: bigint): Promise<{ store: SFrameKeyStore; receiver: SFrameKeyStore }> {
    const store = new SFrameKeyStore({ suite: 4 });
    const receiver = new SFrameKeyStore({ suite: 4 });
    unwrap(await store.setSendKey(KID, KEY, floor));
    unwrap(await receiver.addReceiveKey(KID, KEY));
    return { store, receiver };
  }

  it('counts 2^53 - 4 .. 2^53 + 3 without a gap or a repeat, same bytes as the BigInt path', async () => {
    const { store, receiver } = await sendingFrom(TWO_53 - 4n);
    await sendAndCheck(store, receiver, TWO_53 - 4n, 8);
    expect(store.nextCtr).toBe(TWO_53 + 4n);
  });

  it('keeps a counter above 2^53 across a clear and re-set of the same KID', async () => {
    const { store, receiver } = await sendingFrom(TWO_53 - 1n);
    await sendAndCheck(store, receiver, TWO_53 - 1n, 2);
    store.clearSendKey();
    unwrap(await store.setSendKey(KID, KEY));
    await sendAndCheck(store, receiver, TWO_53 + 1n, 2);
  });

  it('ends at 2^64 - 1: the last counter is used once, then CTR_EXHAUSTED', async () => {
    const { store, receiver } = await sendingFrom(MAX_U64 - 1n);
    await sendAndCheck(store, receiver, MAX_U64 - 1n, 2);
    expect(codeOf(await store.encrypt('vp8', frameOf(50, 0x21)))).toBe('CTR_EXHAUSTED');
    expect(codeOf(await store.encrypt('vp8', frameOf(50, 0x21)))).toBe('CTR_EXHAUSTED');
  });

  /** The reservation rule of the BigInt-only store: announce before ctr + block/2 reaches the mark. */
  function expectedMarks(start: bigint, block: bigint, frames: number): bigint[] {
    const limit = MAX_U64 + 1n;
    const marks: bigint[] = [];
    let upTo = start;
    const reserve = (): void => {
      upTo = upTo + block > limit ? limit : upTo + block;
      marks.push(upTo);
    };
    reserve();
    for (let ctr = start; ctr < start + BigInt(frames); ctr++) {
      if (ctr + block / 2n >= upTo && upTo < limit) reserve();
    }
    return marks;
  }

  for (const [name, start] of [
    ['from 0', 0n],
    ['across 2^53', TWO_53 - 9n],
    ['up to 2^64', MAX_U64 - 20n],
  ] as const) {
    it(`announces the same reservations ${name}, and never uses a counter at or above the latest mark`, async () => {
      const marks: bigint[] = [];
      const block = 4n;
      const frames = 21;
      const store = new SFrameKeyStore({ suite: 4, reserveBlock: Number(block), onReserve: (_kid, upTo) => marks.push(upTo) });
      unwrap(await store.setSendKey(KID, KEY, start));
      for (let i = 0; i < frames; i++) {
        const sent = unwrap(await store.encrypt('opus', frameOf(20)));
        expect(sent.ctr).toBe(start + BigInt(i));
        expect(sent.ctr < marks.at(-1)!).toBe(true);
      }
      expect(marks).toEqual(expectedMarks(start, block, frames));
    });
  }

  it('drops the frame, and takes the counter again next time, when onReserve throws at a refill', async () => {
    let refuse = false;
    const store = new SFrameKeyStore({
      suite: 4,
      reserveBlock: 4,
      onReserve: () => {
        if (refuse) throw new Error('disk full');
      },
    });
    unwrap(await store.setSendKey(KID, KEY));
    expect(unwrap(await store.encrypt('opus', frameOf(20))).ctr).toBe(0n);
    expect(unwrap(await store.encrypt('opus', frameOf(20))).ctr).toBe(1n);
    refuse = true;
    expect(codeOf(await store.encrypt('opus', frameOf(20)))).toBe('INTERNAL');
    expect(codeOf(await store.encrypt('opus', frameOf(20)))).toBe('INTERNAL');
    refuse = false;
    expect(unwrap(await store.encrypt('opus', frameOf(20))).ctr).toBe(2n);
  });
});
