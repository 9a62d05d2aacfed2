import { describe, expect, it } from 'vitest';
import { decodeHeader, encodeHeader, SFrameKeyStore, type KeyStoreOptions } from '../../shared/sframe/index.ts';
import { baseKey, codeOf, frameOf, MAX_U64, unwrap } from './fixtures.ts';

const concat = (a: Uint8Array, b: Uint8Array) => Uint8Array.from([...a, ...b]);

const VP8_DELTA = 0x11;
const ALICE = 0x1_0000n; // e.g. epoch 1, sender index 0
const KEY = baseKey(1);

/** A clock the test moves by hand, and a scheduler that never fires (sweeps happen on use). */
function manualClock(): { now: () => number; advance: (ms: number) => void; options: KeyStoreOptions } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms), options: { now: () => t, schedule: () => {} } };
}

async function pair(options: KeyStoreOptions = {}) {
  const sender = new SFrameKeyStore(options);
  const receiver = new SFrameKeyStore(options);
  unwrap(await sender.setSendKey(ALICE, KEY));
  unwrap(await receiver.addReceiveKey(ALICE, KEY, { owner: 'alice' }));
  return { sender, receiver };
}

describe('key store: sending', () => {
  it('encrypts frames the receiver opens, naming the KID, CTR and owner', async () => {
    const { sender, receiver } = await pair();
    const frame = frameOf(500, VP8_DELTA);
    const sent = unwrap(await sender.encrypt('vp8', frame));
    expect(sent.kid).toBe(ALICE);
    const got = unwrap(await receiver.decrypt('vp8', sent.data));
    expect(got).toEqual({ data: frame, kid: ALICE, ctr: sent.ctr, owner: 'alice' });
  });

  it('drops frames with NO_KEY when there is no send key, and after clearSendKey', async () => {
    const store = new SFrameKeyStore();
    expect(codeOf(await store.encrypt('opus', frameOf(40)))).toBe('NO_KEY');
    unwrap(await store.setSendKey(ALICE, KEY));
    expect(codeOf(await store.encrypt('opus', frameOf(40)))).toBe('OK');
    store.clearSendKey();
    expect(codeOf(await store.encrypt('opus', frameOf(40)))).toBe('NO_KEY');
  });

  it('shares one increasing counter across all tracks, even when encrypting concurrently', async () => {
    const { sender } = await pair();
    const frames = await Promise.all([
      ...Array.from({ length: 20 }, () => sender.encrypt('opus', frameOf(60))),
      ...Array.from({ length: 20 }, () => sender.encrypt('vp8', frameOf(2000, VP8_DELTA))),
    ]);
    const ctrs = frames.map((r) => unwrap(r).ctr);
    expect(new Set(ctrs).size).toBe(40);
    expect([...ctrs].sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i)));
  });

  it('never reuses a counter when the same KID is set again in the same worker', async () => {
    const store = new SFrameKeyStore();
    unwrap(await store.setSendKey(ALICE, KEY));
    for (let i = 0; i < 5; i++) await store.encrypt('vp9', frameOf(10));
    store.clearSendKey();
    unwrap(await store.setSendKey(ALICE, KEY, 0n));
    expect(unwrap(await store.encrypt('vp9', frameOf(10))).ctr).toBe(5n);
  });

  it('lets the later of two overlapping setSendKey calls win', async () => {
    const store = new SFrameKeyStore();
    const first = store.setSendKey(1000n, baseKey(1));
    const second = store.setSendKey(1001n, baseKey(2));
    expect(codeOf(await first)).toBe('SUPERSEDED');
    expect(codeOf(await second)).toBe('OK');
    expect(store.sendKid).toBe(1001n);
  });

  it('stops with CTR_EXHAUSTED after counter 2^64-1', async () => {
    const sender = new SFrameKeyStore();
    const receiver = new SFrameKeyStore();
    unwrap(await sender.setSendKey(MAX_U64, KEY, MAX_U64));
    unwrap(await receiver.addReceiveKey(MAX_U64, KEY));
    const last = unwrap(await sender.encrypt('vp9', frameOf(100)));
    expect(unwrap(decodeHeader(last.data))).toMatchObject({ kid: MAX_U64, ctr: MAX_U64, length: 17 });
    expect(unwrap(await receiver.decrypt('vp9', last.data)).ctr).toBe(MAX_U64);
    expect(codeOf(await sender.encrypt('vp9', frameOf(100)))).toBe('CTR_EXHAUSTED');
  });

  it('refuses to use one KID for both sending and receiving (RFC 9605 §4.4.1)', async () => {
    const store = new SFrameKeyStore();
    unwrap(await store.setSendKey(ALICE, KEY));
    expect(codeOf(await store.addReceiveKey(ALICE, KEY))).toBe('KID_CONFLICT');
    unwrap(await store.addReceiveKey(7n, KEY));
    expect(codeOf(await store.setSendKey(7n, KEY))).toBe('KID_CONFLICT');
  });
});

describe('key store: a refused send key fails closed', () => {
  const NEXT = 0x2_0000n; // the next epoch's send KID

  it('drops the previous send key when the next one is refused (KID_CONFLICT): NO_KEY, never the old key', async () => {
    const { sender } = await pair();
    unwrap(await sender.addReceiveKey(NEXT, baseKey(9), { owner: 'someone else' }));
    expect(codeOf(await sender.setSendKey(NEXT, baseKey(2)))).toBe('KID_CONFLICT');
    expect(sender.sendKid).toBeUndefined();
    expect(codeOf(await sender.encrypt('opus', frameOf(20)))).toBe('NO_KEY');
  });

  it('drops the previous send key when the next one is invalid', async () => {
    const { sender } = await pair();
    expect(codeOf(await sender.setSendKey(NEXT, baseKey(2), -1n))).toBe('INVALID_ARGUMENT');
    expect(codeOf(await sender.encrypt('opus', frameOf(20)))).toBe('NO_KEY');
  });

  it('sends again once a later key is accepted', async () => {
    const { sender } = await pair();
    unwrap(await sender.addReceiveKey(NEXT, baseKey(9)));
    expect(codeOf(await sender.setSendKey(NEXT, baseKey(2)))).toBe('KID_CONFLICT');
    unwrap(await sender.setSendKey(0x3_0000n, baseKey(3)));
    expect(unwrap(await sender.encrypt('opus', frameOf(20))).kid).toBe(0x3_0000n);
  });

  it('keeps the winner when a refused call was already overtaken (SUPERSEDED decides nothing)', async () => {
    const store = new SFrameKeyStore();
    const stale = store.setSendKey(ALICE, KEY);
    const latest = store.setSendKey(NEXT, baseKey(2));
    expect(codeOf(await stale)).toBe('SUPERSEDED');
    unwrap(await latest);
    expect(unwrap(await store.encrypt('opus', frameOf(20))).kid).toBe(NEXT);
  });
});

describe('key store: counter reservation across restarts', () => {
  it('announces a block before using it, and a restarted worker resumes above every used counter', async () => {
    const persisted = new Map<bigint, bigint>(); // what the page would store
    const onReserve = (kid: bigint, upTo: bigint) => persisted.set(kid, upTo);
    const first = new SFrameKeyStore({ reserveBlock: 64, onReserve });
    unwrap(await first.setSendKey(ALICE, KEY, 0n));
    const used: bigint[] = [];
    for (let i = 0; i < 300; i++) {
      const { ctr } = unwrap(await first.encrypt('opus', frameOf(30)));
      // Every counter is below the mark the page already holds.
      expect(ctr < (persisted.get(ALICE) ?? 0n)).toBe(true);
      used.push(ctr);
    }
    // The worker dies; a new one gets the key back with the persisted floor.
    const floor = persisted.get(ALICE) ?? 0n;
    const second = new SFrameKeyStore({ reserveBlock: 64, onReserve });
    unwrap(await second.setSendKey(ALICE, KEY, floor));
    const resumed = unwrap(await second.encrypt('opus', frameOf(30))).ctr;
    expect(resumed).toBe(floor);
    expect(resumed > used[used.length - 1]!).toBe(true);
    expect(used).not.toContain(resumed);
  });

  it('reserves 4096 counters at a time by default, half a block ahead of need', async () => {
    const marks: bigint[] = [];
    const store = new SFrameKeyStore({ onReserve: (_kid, upTo) => marks.push(upTo) });
    unwrap(await store.setSendKey(ALICE, KEY, 10_000n));
    expect(marks).toEqual([14_096n]);
    // Counters 10000..12047 fit the first block with more than half of it to spare…
    for (let i = 0; i < 2048; i++) await store.encrypt('vp9', frameOf(1));
    expect(marks).toEqual([14_096n]);
    // …counter 12048 is half a block from the mark, so the next block is announced first.
    expect(unwrap(await store.encrypt('vp9', frameOf(1))).ctr).toBe(12_048n);
    expect(marks).toEqual([14_096n, 18_192n]);
  });

  it('drops the frame rather than use an unannounced counter when onReserve throws', async () => {
    let fail = false;
    const store = new SFrameKeyStore({
      reserveBlock: 4,
      onReserve: () => {
        if (fail) throw new Error('storage full');
      },
    });
    unwrap(await store.setSendKey(ALICE, KEY));
    fail = true;
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push(codeOf(await store.encrypt('vp9', frameOf(1))));
    expect(codes).toEqual(['OK', 'OK', 'INTERNAL', 'INTERNAL', 'INTERNAL', 'INTERNAL']);
  });
});

describe('key store: receiving', () => {
  it('reports UNKNOWN_KID for a frame under a KID it holds no key for', async () => {
    const sender = new SFrameKeyStore();
    const receiver = new SFrameKeyStore();
    unwrap(await sender.setSendKey(ALICE, KEY));
    const sent = unwrap(await sender.encrypt('vp8', frameOf(100, VP8_DELTA)));
    expect(codeOf(await receiver.decrypt('vp8', sent.data))).toBe('UNKNOWN_KID');
  });

  it('gives AUTH_FAILED when the receiver holds a different key for the KID', async () => {
    const sender = new SFrameKeyStore();
    const receiver = new SFrameKeyStore();
    unwrap(await sender.setSendKey(ALICE, KEY));
    unwrap(await receiver.addReceiveKey(ALICE, baseKey(99)));
    const sent = unwrap(await sender.encrypt('vp8', frameOf(100, VP8_DELTA)));
    expect(codeOf(await receiver.decrypt('vp8', sent.data))).toBe('AUTH_FAILED');
  });

  it('rejects a replayed frame with REPLAY, and accepts frames out of order', async () => {
    const { sender, receiver } = await pair();
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(unwrap(await sender.encrypt('opus', frameOf(50))).data);
    for (const i of [0, 3, 1, 4, 2]) expect(codeOf(await receiver.decrypt('opus', sent[i]!))).toBe('OK');
    expect(codeOf(await receiver.decrypt('opus', sent[2]!))).toBe('REPLAY');
  });

  it('rejects a frame more than 1024 counters behind the newest', async () => {
    const { sender, receiver } = await pair();
    const old = unwrap(await sender.encrypt('opus', frameOf(50))).data;
    let last = old;
    for (let i = 0; i < 1025; i++) last = unwrap(await sender.encrypt('opus', frameOf(50))).data;
    expect(codeOf(await receiver.decrypt('opus', last))).toBe('OK');
    expect(codeOf(await receiver.decrypt('opus', old))).toBe('REPLAY');
  });

  it('does not let a forged frame move the replay window', async () => {
    const { sender, receiver } = await pair();
    const early = unwrap(await sender.encrypt('vp9', frameOf(50))).data; // CTR 0
    const later = unwrap(await sender.encrypt('vp9', frameOf(50))).data; // CTR 1
    // Rewrite CTR 1 as CTR 2049: the header is authenticated, so it fails…
    const genuineHeader = unwrap(decodeHeader(later));
    const forged = concat(unwrap(encodeHeader(ALICE, 2049n)), later.subarray(genuineHeader.length));
    expect(codeOf(await receiver.decrypt('vp9', forged))).toBe('AUTH_FAILED');
    // …and had it moved the window, CTR 0 and 1 would now be too old.
    expect(codeOf(await receiver.decrypt('vp9', later))).toBe('OK');
    expect(codeOf(await receiver.decrypt('vp9', early))).toBe('OK');
  });

  it('reports MALFORMED for garbage', async () => {
    const { receiver } = await pair();
    expect(codeOf(await receiver.decrypt('vp8', Uint8Array.of(0x11, 0, 0)))).toBe('MALFORMED');
    expect(codeOf(await receiver.decrypt('vp9', Uint8Array.of(0xff, 1, 2)))).toBe('MALFORMED');
  });

  it('treats re-adding the same key as a no-op that keeps the replay window, and refuses a different key or owner', async () => {
    const { sender, receiver } = await pair();
    const sent = unwrap(await sender.encrypt('vp9', frameOf(50))).data;
    expect(codeOf(await receiver.decrypt('vp9', sent))).toBe('OK');
    expect(codeOf(await receiver.addReceiveKey(ALICE, KEY, { owner: 'alice' }))).toBe('OK');
    expect(codeOf(await receiver.decrypt('vp9', sent))).toBe('REPLAY');
    expect(codeOf(await receiver.addReceiveKey(ALICE, baseKey(2), { owner: 'alice' }))).toBe('KID_CONFLICT');
    expect(codeOf(await receiver.addReceiveKey(ALICE, KEY, { owner: 'mallory' }))).toBe('KID_CONFLICT');
  });
});

describe('key store: retiring keys', () => {
  it('keeps a retired key for its grace period, then erases it', async () => {
    const clock = manualClock();
    const { sender, receiver } = await pair(clock.options);
    receiver.retire(ALICE, 5_000);
    clock.advance(4_999);
    expect(codeOf(await receiver.decrypt('vp9', unwrap(await sender.encrypt('vp9', frameOf(50))).data))).toBe('OK');
    clock.advance(1);
    expect(codeOf(await receiver.decrypt('vp9', unwrap(await sender.encrypt('vp9', frameOf(50))).data))).toBe('UNKNOWN_KID');
    expect(receiver.hasReceiveKey(ALICE)).toBe(false);
  });

  it('erases a key at once when retired with no grace period', async () => {
    const { receiver } = await pair(manualClock().options);
    receiver.retire(ALICE, 0);
    expect(receiver.receiveKids()).toEqual([]);
  });

  it('erases a retired key on the scheduled sweep even if no frame arrives', async () => {
    const clock = manualClock();
    const timers: Array<() => void> = [];
    const receiver = new SFrameKeyStore({ now: clock.now, schedule: (fn) => timers.push(fn) });
    unwrap(await receiver.addReceiveKey(ALICE, KEY));
    receiver.retire(ALICE, 1_000);
    expect(timers).toHaveLength(1);
    clock.advance(1_000);
    timers[0]!();
    expect(receiver.receiveKids()).toEqual([]);
  });

  it('applies a retirement that arrives before its key was added', async () => {
    const clock = manualClock();
    const receiver = new SFrameKeyStore(clock.options);
    receiver.retire(ALICE, 100);
    unwrap(await receiver.addReceiveKey(ALICE, KEY));
    expect(receiver.hasReceiveKey(ALICE)).toBe(true);
    clock.advance(100);
    expect(receiver.hasReceiveKey(ALICE)).toBe(false);
  });

  it('stops sending at once when the send key is retired', async () => {
    const { sender } = await pair(manualClock().options);
    sender.retire(ALICE, 10_000);
    expect(codeOf(await sender.encrypt('opus', frameOf(20)))).toBe('NO_KEY');
  });
});
