// Issue #12, finding 1: one participant announcing an X25519 key nobody can
// seal to (a point of small order, or a non-canonical encoding) must not stop
// key rotation. Keys are refused on receipt (BAD_PUBLIC_KEY); a leader that
// still meets one leaves that member out and keys everyone else.

import { beforeAll, describe, expect, it } from 'vitest';
import { createAnnouncement, verifyAnnouncement, type Announcement } from '../../shared/e2ee/announcement.ts';
import { TIMING } from '../../shared/e2ee/constants.ts';
import { checkDhPublicKey } from '../../shared/e2ee/dh-key.ts';
import { generateIdentity } from '../../shared/e2ee/identity.ts';
import * as leader from '../../shared/e2ee/leader.ts';
import type { LeaderContext, LeaderOutput } from '../../shared/e2ee/leader.ts';
import { dhKeyPairFromSeed, initCrypto, systemRandom, wrapKey } from '../../shared/e2ee/primitives.ts';
import { verifyRoster } from '../../shared/e2ee/roster.ts';
import { decodeMessage, encodeMessage } from '../../shared/e2ee/wire.ts';
import { CTX, participant, rosterOf } from './fixtures.ts';
import { codes, harness, insiderLink, keyedEpochs, meeting, opened, rosterIds, wait } from './harness.ts';

beforeAll(initCrypto);

const P = 2n ** 255n - 19n;

/** u as 32 little-endian bytes (u < 2^256). */
function bytesOf(u: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((u >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** The u-coordinates of small order (curve and twist): X25519 with any private key gives 0. */
const SMALL_ORDER = [
  0n,
  1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
  P - 1n,
];
const TOP_BIT = 2n ** 255n;
/** Every encoding of them: canonical, + p where that still fits in 255 bits, and each with bit 255 set. */
const LOW_ORDER_ENCODINGS: [string, Uint8Array][] = [
  ...SMALL_ORDER.map((u): [string, Uint8Array] => [`u = ${u}`, bytesOf(u)]),
  ['u = p (0 unreduced)', bytesOf(P)],
  ['u = p + 1 (1 unreduced)', bytesOf(P + 1n)],
  ...SMALL_ORDER.map((u): [string, Uint8Array] => [`u = ${u} with bit 255 set`, bytesOf(u + TOP_BIT)]),
];

const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

/** An announcement its owner signed, carrying whatever X25519 key it likes. */
function announcing(id: string, dhKey: Uint8Array, ctx: { meetingId: string; instanceId: string } = CTX): Announcement {
  return createAnnouncement({ ...ctx, participantId: id, name: 'Mallory', dhKey, nonce: systemRandom(16) }, generateIdentity());
}

describe('X25519 public keys from others', () => {
  it('refuses every encoding of a point of small order', () => {
    for (const [what, key] of LOW_ORDER_ENCODINGS) expect(codeOf(checkDhPublicKey(key)), what).toBe('BAD_PUBLIC_KEY');
  });

  it('refuses exactly the points libsodium cannot derive a shared secret with (all-zero result)', () => {
    const leaderDh = dhKeyPairFromSeed(systemRandom(32));
    for (const [what, key] of LOW_ORDER_ENCODINGS) expect(wrapKey(leaderDh.publicKey, key, key, leaderDh.privateKey), what).toBeUndefined();
  });

  it('refuses non-canonical encodings: u from 2^255 - 19 up, or bit 255 set', () => {
    for (let k = 0n; k <= 18n; k++) expect(codeOf(checkDhPublicKey(bytesOf(P + k))), `p + ${k}`).toBe('BAD_PUBLIC_KEY');
    const real = dhKeyPairFromSeed(systemRandom(32)).publicKey;
    const highBit = real.slice();
    highBit[31] = (highBit[31] ?? 0) | 0x80;
    expect(codeOf(checkDhPublicKey(highBit))).toBe('BAD_PUBLIC_KEY');
    expect(codeOf(checkDhPublicKey(real.subarray(0, 31)))).toBe('BAD_PUBLIC_KEY');
  });

  it('accepts real keys, and small u that are not of small order', () => {
    for (let i = 0; i < 50; i++) expect(codeOf(checkDhPublicKey(dhKeyPairFromSeed(systemRandom(32)).publicKey))).toBe('ok');
    for (const u of [2n, 9n, P - 2n]) expect(codeOf(checkDhPublicKey(bytesOf(u))), `u = ${u}`).toBe('ok');
  });

  it('refuses a correctly signed announcement with such a key (BAD_PUBLIC_KEY), and a roster carrying one', () => {
    for (const [what, key] of LOW_ORDER_ENCODINGS) {
      expect(codeOf(verifyAnnouncement(announcing('mallory', key), { ...CTX, from: 'mallory' })), what).toBe('BAD_PUBLIC_KEY');
    }
    const alice = participant('alice');
    const bob = participant('bob');
    const mallory = { ...participant('mallory'), announcement: announcing('mallory', new Uint8Array(32)) };
    const r = rosterOf([alice, bob, mallory], 1);
    const check = { ...CTX, from: 'alice', self: bob.announcement, head: null, departed: new Set<string>() };
    expect(codeOf(verifyRoster(r.roster, check))).toBe('ROSTER_BAD_ANNOUNCEMENT');
  });
});

let alice: ReturnType<typeof participant> | undefined;
const aliceOnce = () => (alice ??= participant('alice'));

describe('a leader that meets a key it cannot seal to', () => {
  function context(candidates: Announcement[]): LeaderContext {
    const alice = aliceOnce();
    const present = new Set(['alice', ...candidates.map((a) => a.participantId)]);
    return {
      ...CTX,
      selfId: 'alice',
      self: alice.announcement,
      identity: alice.identity,
      random: systemRandom,
      timing: { batchMs: TIMING.batchMs, commitTimeoutMs: TIMING.commitTimeoutMs, resendMinIntervalMs: TIMING.resendMinIntervalMs },
      head: null,
      candidates: new Map(candidates.map((a) => [a.participantId, a])),
      isPresent: (id) => present.has(id),
      excluded: new Set(),
      departed: new Set(),
      echoes: new Map(),
      epochHint: 0,
      dhKeyFor: () => undefined,
      rosterAt: () => undefined,
      exportSecret: () => {},
    };
  }
  const adopted = (out: readonly LeaderOutput[]) =>
    out.flatMap((o) => (o.type === 'adopt' ? [o.roster.roster.members.map((m) => m.participantId)] : []));
  const keyedIds = (out: readonly LeaderOutput[]) =>
    out.flatMap((o) => (o.type === 'send' && o.message.type === 'keys' ? o.message.keys.entries.map((e) => e.to) : []));

  it('leaves that member out of the epoch, says so once, and keys everyone else', () => {
    // An announcement that skipped the receipt check (e.g. carried by another leader's roster).
    const bob = participant('bob').announcement;
    const carol = participant('carol').announcement;
    const mallory = announcing('mallory', new Uint8Array(32));
    const ctx = context([bob, mallory, carol]);
    const first = leader.flush(leader.initialState(null), ctx, 0);
    expect(adopted(first.out)).toEqual([['alice', 'bob', 'carol']]);
    expect(keyedIds(first.out)).toEqual(['bob', 'carol']);
    const reported = first.out.filter((o) => o.type === 'error');
    expect(reported).toEqual([{ type: 'error', code: 'BAD_PUBLIC_KEY', message: expect.any(String), from: 'mallory' }]);
    expect(first.state.pending).toMatchObject({ epoch: 1, awaiting: new Set(['bob', 'carol']) });
    // The next epoch (after commit) leaves it out again, without saying it twice.
    const committed = leader.commit(first.state, ctx, 'all-acked').state;
    const head = first.out.find((o) => o.type === 'adopt');
    if (head?.type !== 'adopt') throw new Error('no roster');
    const dave = participant('dave').announcement;
    const later = { ...context([mallory, dave]), head: head.roster, isPresent: () => true };
    const next = leader.flush({ ...committed, dirty: true }, later, 1000);
    expect(adopted(next.out)).toEqual([['alice', 'bob', 'carol', 'dave']]);
    expect(next.out.some((o) => o.type === 'error')).toBe(false);
  });
});

describe('a participant announcing a low-order key (agent level)', () => {
  it('is never keyed, and the others still rotate on a later leave', async () => {
    const h = harness({ seed: 12 });
    const [alice, bob, carol] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    if (!alice || !bob || !carol) throw new Error('setup');
    // Anyone holding the link (or the server, if it had it) joins and announces the all-zero point, correctly signed.
    const received: string[] = [];
    const link = insiderLink(h);
    const mallory = await h.hub.join('harness', {
      onPeerJoined() {},
      onPeerLeft() {},
      onRelay: (from, p) => received.push(opened(h, from, p) ?? ''),
    });
    const { participantId: malloryId, meetingId, instanceId } = mallory.info;
    const announcement = announcing(malloryId, new Uint8Array(32), { meetingId, instanceId });
    mallory.relay(null, link.seal(malloryId, encodeMessage({ type: 'announce', announcement })));
    await h.sim.settle();
    for (const p of [alice, bob, carol]) {
      expect(codes(p)).toEqual(['BAD_PUBLIC_KEY']);
      expect(p.log.errors[0]?.from).toBe(malloryId);
      p.log.errors.length = 0;
    }
    const before = alice.agent.currentEpoch;

    h.sim.leave(carol);
    await h.sim.settle();
    expect(alice.agent.currentEpoch).toBeGreaterThan(before);
    expect(bob.agent.currentEpoch).toBe(alice.agent.currentEpoch);
    expect(rosterIds(bob)).toEqual([alice.id, bob.id]);
    expect(keyedEpochs(carol).every((e) => e < alice.agent.currentEpoch)).toBe(true);
    expect(h.sim.check()).toEqual([]);

    // Mallory leaving changes nothing it could have broken; a newcomer is keyed as usual.
    mallory.leave();
    await h.sim.join({ name: 'Dave' });
    await h.sim.settle();
    await wait(h, 10_000);
    expect(h.sim.check()).toEqual([]);

    // Nothing Mallory was sent names it as a member or carries a key for it.
    for (const payload of received) {
      const m = decodeMessage(payload);
      if (!m.ok) continue;
      if (m.value.type === 'roster') expect(m.value.roster.members.map((x) => x.participantId)).not.toContain(malloryId);
      if (m.value.type === 'delta') expect(m.value.delta.added.map((x) => x.participantId)).not.toContain(malloryId);
      if (m.value.type === 'keys') expect(m.value.keys.entries.map((e) => e.to)).not.toContain(malloryId);
    }
    // Key messages go to their member alone: Mallory gets none; she does see the rosters' deltas.
    expect(received.some((p) => p.includes('"t":"keys"'))).toBe(false);
    expect(received.some((p) => p.includes('"t":"delta"'))).toBe(true);
  });
});
