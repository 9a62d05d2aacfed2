// Post-compromise healing within a meeting (issue #12, finding 12): every key
// message is sealed under a sender key made for it alone, to the recipient's
// current epoch key (the `next` of its last ack). A stolen X25519 private key
// opens only the key messages sealed to it: not the member's later ones, and
// the leader's long-lived key opens none.

import { beforeAll, describe, expect, it } from 'vitest';
import { createAck, verifyAck } from '../../shared/e2ee/ack.ts';
import { DhKeyChain } from '../../shared/e2ee/dh-chain.ts';
import { toBase64Url } from '../../shared/e2ee/encoding.ts';
import { openKeysMessage, type KeysMessage } from '../../shared/e2ee/key-message.ts';
import * as leader from '../../shared/e2ee/leader.ts';
import type { LeaderContext, LeaderOutput } from '../../shared/e2ee/leader.ts';
import { Presence } from '../../shared/e2ee/presence.ts';
import { dhKeyPairFromSeed, initCrypto, systemRandom, wrapKey, type DhKeyPair } from '../../shared/e2ee/primitives.ts';
import type { VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { TIMING } from '../../shared/e2ee/constants.ts';
import { decodeMessage, encodeMessage } from '../../shared/e2ee/wire.ts';
import type { Announcement } from '../../shared/e2ee/announcement.ts';
import { VerifiedAnnouncements } from '../../shared/e2ee/announcement.ts';
import { WireRosters } from '../../harness/wire-rosters.ts';
import { CTX, flipped, participant, rosterOf, type TestParticipant } from './fixtures.ts';
import { harness, meeting, type Harness } from './harness.ts';
import type { SimParticipant } from '../../harness/sim.ts';

beforeAll(initCrypto);

const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

/** Every key message and roster the server relayed, as an insider reads them (what an attacker records). */
function recorded(h: Harness): { keys: KeysMessage[]; rosters: Map<number, VerifiedRoster> } {
  const keys = new Map<string, KeysMessage>();
  const rosters = new Map<number, VerifiedRoster>();
  const wire = new WireRosters();
  for (const t of h.traffic) {
    const d = decodeMessage(t.plain);
    if (!d.ok) continue;
    if (d.value.type === 'keys') keys.set(toBase64Url(d.value.keys.signature), d.value.keys);
    const r = wire.add(d.value);
    if (r) rosters.set(r.roster.epoch, r);
  }
  return { keys: [...keys.values()].sort((a, b) => a.epoch - b.epoch), rosters };
}

/** Every X25519 key pair `p` ever held, by public key (base64url), from the test-only secret hook. */
function stolenKeys(p: SimParticipant): Map<string, DhKeyPair> {
  const out = new Map<string, DhKeyPair>();
  for (const s of p.log.secrets) {
    if (s.label === `X25519 private key of ${p.id}`)
      out.set(toBase64Url(p.agent.ownAnnouncement.dhKey), { publicKey: p.agent.ownAnnouncement.dhKey, privateKey: s.bytes });
    const chained = new RegExp(`^X25519 private key of ${p.id} #\\d+ \\(([A-Za-z0-9_-]+)\\)$`).exec(s.label);
    if (chained?.[1]) {
      const publicKey = Uint8Array.from(Buffer.from(chained[1], 'base64url'));
      out.set(chained[1], { publicKey, privateKey: s.bytes });
    }
  }
  return out;
}

/**
 * What an attacker holding `pair` (and every recorded message) gets from key
 * message `k` addressed to `to`: opened with the ordinary check, the
 * signature and roster being genuine. 'ok' means the epoch key is theirs.
 */
function attackerOpens(k: KeysMessage, to: string, rosters: Map<number, VerifiedRoster>, pair: DhKeyPair): string | undefined {
  const entry = k.entries.find((e) => e.to === to);
  if (!entry) return undefined;
  return codeOf(
    openKeysMessage(k, {
      meetingId: k.meetingId,
      instanceId: k.instanceId,
      selfId: to,
      from: k.leaderId,
      roster: rosters.get(k.epoch),
      lastEpoch: 0,
      dhFor: () => pair,
      acceptableEchoes: [entry.echo],
    }),
  );
}

/** A meeting that goes through several epochs with the same leader and Bob keyed in each. */
async function severalEpochs(): Promise<{ h: Harness; a: SimParticipant; b: SimParticipant }> {
  const h = harness({ seed: 12 });
  const [a, b] = await meeting(h, ['Alice', 'Bob', 'Carol']);
  if (!a || !b) throw new Error('setup');
  for (const name of ['Dan', 'Erin', 'Frank']) {
    const p = await h.sim.join({ name });
    await h.sim.settle();
    h.sim.leave(p);
    await h.sim.settle();
  }
  expect(h.sim.check()).toEqual([]);
  return { h, a, b };
}

describe('post-compromise healing: a fresh X25519 key per epoch', () => {
  it("a member's key message for epoch N+1 cannot be opened with the key that opened its epoch-N one", async () => {
    const { h, a, b } = await severalEpochs();
    const { keys, rosters } = recorded(h);
    const stolen = stolenKeys(b);
    const forBob = keys.filter((k) => k.leaderId === a.id && k.entries.some((e) => e.to === b.id));
    expect(forBob.length).toBeGreaterThanOrEqual(6);
    const sealedTo = forBob.map((k) => toBase64Url(k.entries.find((e) => e.to === b.id)?.dh ?? new Uint8Array()));
    // Each consecutive epoch is sealed to a different key of Bob's...
    for (let i = 1; i < sealedTo.length; i++) expect(sealedTo[i], `epoch ${forBob[i]?.epoch}`).not.toBe(sealedTo[i - 1]);
    for (let i = 1; i < forBob.length; i++) {
      const [prev, next] = [forBob[i - 1], forBob[i]] as [KeysMessage, KeysMessage];
      const prevKey = stolen.get(sealedTo[i - 1] ?? '');
      const ownKey = stolen.get(sealedTo[i] ?? '');
      if (!prevKey || !ownKey) throw new Error(`Bob's key for epoch ${prev.epoch} or ${next.epoch} was never reported`);
      // ...so stealing the epoch-N key opens epoch N (the control) but not N+1.
      expect(attackerOpens(prev, b.id, rosters, prevKey)).toBe('ok');
      expect(attackerOpens(next, b.id, rosters, prevKey), `epoch ${next.epoch} with the epoch ${prev.epoch} key`).toBe('DECRYPT_FAILED');
      expect(attackerOpens(next, b.id, rosters, ownKey)).toBe('ok');
    }
  });

  it("stealing the leader's long-lived X25519 key opens none of the recorded key messages", async () => {
    const { h, a } = await severalEpochs();
    const { keys, rosters } = recorded(h);
    const leaderKey = stolenKeys(a).get(toBase64Url(a.agent.ownAnnouncement.dhKey));
    if (!leaderKey) throw new Error('no leader key reported');
    const fromAlice = keys.filter((k) => k.leaderId === a.id);
    expect(fromAlice.length).toBeGreaterThanOrEqual(6);
    for (const k of fromAlice) {
      // No key message reuses the leader's long-lived key, or another message's sender key.
      expect(toBase64Url(k.senderDh)).not.toBe(toBase64Url(leaderKey.publicKey));
      for (const e of k.entries) {
        // Every derivation the leader's private key allows: with the sender key, the recipient key, or its own public key.
        const peers = [k.senderDh, e.dh, leaderKey.publicKey];
        const derivations = peers.flatMap((peer) => [
          wrapKey(k.senderDh, e.dh, peer, leaderKey.privateKey),
          wrapKey(leaderKey.publicKey, e.dh, peer, leaderKey.privateKey),
        ]);
        for (const wk of derivations) {
          const result = openKeysMessage(k, {
            meetingId: k.meetingId,
            instanceId: k.instanceId,
            selfId: e.to,
            from: k.leaderId,
            roster: rosters.get(k.epoch),
            lastEpoch: 0,
            dhFor: () => undefined,
            acceptableEchoes: [e.echo],
            wrapKeyFor: () => wk,
          });
          expect(codeOf(result), `epoch ${k.epoch} entry for ${e.to}`).toBe('DECRYPT_FAILED');
        }
      }
    }
    // One sender key per epoch (its members' messages share it), never reused by another epoch.
    const senderKeys = new Set(fromAlice.map((k) => `${k.epoch}/${toBase64Url(k.senderDh)}`));
    expect(senderKeys.size).toBe(new Set(fromAlice.map((k) => k.epoch)).size);
    expect(new Set(fromAlice.map((k) => toBase64Url(k.senderDh))).size).toBe(senderKeys.size);
  });
});

describe('a leader change (the documented limit, threat-model.md)', () => {
  it("the successor's first epoch is sealed to the announced keys, its next one to the keys the acks named", async () => {
    const h = harness({ seed: 21 });
    const [a, b, c] = await meeting(h, ['Alice', 'Bob', 'Carol', 'Dan']);
    if (!a || !b || !c) throw new Error('setup');
    h.sim.leave(a);
    await h.sim.settle();
    await h.sim.join({ name: 'Erin' });
    await h.sim.settle();
    expect(h.sim.check()).toEqual([]);
    const fromBob = recorded(h).keys.filter((k) => k.leaderId === b.id);
    expect(fromBob.length).toBeGreaterThanOrEqual(2);
    const toCarol = fromBob.flatMap((k) => k.entries.filter((e) => e.to === c.id).map((e) => e.dh));
    const announced = c.agent.ownAnnouncement.dhKey;
    // Bob never saw Carol's acks to Alice: its first epoch can only use the key she announced...
    expect(toCarol[0]).toEqual(announced);
    // ...and once Carol acked Bob, the next one is sealed to the key that ack named.
    expect(toCarol[1]).toBeDefined();
    expect(toCarol[1]).not.toEqual(announced);
    expect(stolenKeys(c).has(toBase64Url(toCarol[1] ?? new Uint8Array()))).toBe(true);
  });
});

describe('the member side (dh-chain.ts)', () => {
  it('erases its previous X25519 private key once a key message sealed to the next one is opened', () => {
    const announced = dhKeyPairFromSeed(systemRandom(32));
    const chain = new DhKeyChain(announced, systemRandom, () => {}, 'bob');
    const k1 = chain.used(announced.publicKey); // epoch 1, sealed to the announced key
    const k1Pair = chain.find(k1);
    if (!k1Pair) throw new Error('k1 not held');
    const k2 = chain.used(k1); // epoch 2, sealed to k1: k1 stays (a lagging leader may use it again)
    expect(chain.find(k1)).toBe(k1Pair);
    expect(k2).not.toEqual(k1);
    const k2Pair = chain.find(k2);
    chain.used(k2); // epoch 3, sealed to k2: k1 is gone, its bytes zeroed
    expect(chain.find(k1)).toBeUndefined();
    expect(k1Pair.privateKey.every((b) => b === 0)).toBe(true);
    expect(k2Pair?.privateKey.some((b) => b !== 0)).toBe(true);
    // The announced key stays: a new leader knows no other.
    expect(chain.find(announced.publicKey)).toBe(announced);
    expect(announced.privateKey.some((b) => b !== 0)).toBe(true);
    expect(chain.size).toBe(3);
  });

  it('repeats an unused next key for a lagging leader instead of making another, and holds at most three', () => {
    const announced = dhKeyPairFromSeed(systemRandom(32));
    const chain = new DhKeyChain(announced, systemRandom, () => {}, 'bob');
    const k1 = chain.used(announced.publicKey);
    // The leader sealed again to the announced key (our ack was late): same next key, nothing erased.
    expect(chain.used(announced.publicKey)).toEqual(k1);
    const k2 = chain.used(k1);
    expect(chain.used(k1)).toEqual(k2);
    expect(chain.size).toBe(3);
    chain.clear();
    expect(announced.privateKey.every((b) => b === 0)).toBe(true);
  });
});

describe('ack carrying the next X25519 key', () => {
  let alice: TestParticipant, bob: TestParticipant;
  let r1: VerifiedRoster;
  beforeAll(() => {
    [alice, bob] = [participant('alice'), participant('bob')];
    r1 = rosterOf([alice, bob], 1);
  });
  const asAlice = () => ({ ...CTX, from: 'bob', selfId: 'alice', roster: r1 });
  const ackWith = (next?: Uint8Array) =>
    createAck(
      { ...CTX, epoch: 1, participantId: 'bob', rosterHash: r1.hash, nonce: bob.nonces.issue(), ...(next ? { next } : {}) },
      bob.identity,
    );

  it('is accepted with a sound next key, which its signature covers', () => {
    const next = dhKeyPairFromSeed(systemRandom(32)).publicKey;
    const a = ackWith(next);
    expect(verifyAck(a, asAlice())).toMatchObject({ ok: true, value: { next } });
    expect(codeOf(verifyAck({ ...a, next: flipped(next) }, asAlice()))).toBe('BAD_SIGNATURE');
    // Stripping it (so the leader keeps sealing to a key the member has erased) breaks the signature too.
    const { next: _dropped, ...stripped } = a;
    expect(codeOf(verifyAck(stripped, asAlice()))).toBe('BAD_SIGNATURE');
    // And it crosses the wire.
    const wire = decodeMessage(encodeMessage({ type: 'ack', ack: a }));
    expect(wire.ok && wire.value.type === 'ack' && wire.value.ack.next).toEqual(next);
  });

  it('without a next key still counts: the leader keeps the last key it knows', () => {
    const a = ackWith();
    expect(verifyAck(a, asAlice()).ok).toBe(true);
    const wire = decodeMessage(encodeMessage({ type: 'ack', ack: a }));
    expect(wire.ok && wire.value.type === 'ack' && 'next' in wire.value.ack).toBe(false);
  });

  it('with a malformed next key is refused: on the wire (size), and signed but unusable (small order, non-canonical)', () => {
    const encoded = JSON.parse(encodeMessage({ type: 'ack', ack: ackWith(dhKeyPairFromSeed(systemRandom(32)).publicKey) })) as Record<
      string,
      unknown
    >;
    encoded['next'] = toBase64Url(new Uint8Array(31));
    expect(codeOf(decodeMessage(JSON.stringify(encoded)))).toBe('MALFORMED');
    encoded['next'] = 42;
    expect(codeOf(decodeMessage(JSON.stringify(encoded)))).toBe('MALFORMED');
    const zero = new Uint8Array(32);
    const p = new Uint8Array(32).fill(0xff);
    p[0] = 0xed;
    p[31] = 0x7f; // 2^255 - 19 itself: non-canonical
    for (const bad of [zero, p]) expect(codeOf(verifyAck(ackWith(bad), asAlice()))).toBe('BAD_PUBLIC_KEY');
  });

  it("the leader takes a next key only from the member's newest ack, and forgets it when the member leaves", () => {
    const presence = new Presence({ ...CTX, selfId: 'alice' }, new VerifiedAnnouncements(8));
    presence.start(['bob']);
    const [k2, k3] = [systemRandom(32), systemRandom(32)];
    presence.ackedNext('bob', 3, k3);
    presence.ackedNext('bob', 2, k2); // a late ack for an older epoch
    expect(presence.dhKeyFor('bob')).toEqual(k3);
    presence.left('bob');
    expect(presence.dhKeyFor('bob')).toBeUndefined();
  });
});

describe('the leader seals each member to its current key', () => {
  function context(candidates: Announcement[], dhKeyFor: (id: string) => Uint8Array | undefined, self: TestParticipant): LeaderContext {
    const present = new Set([self.id, ...candidates.map((c) => c.participantId)]);
    return {
      ...CTX,
      selfId: self.id,
      self: self.announcement,
      identity: self.identity,
      random: systemRandom,
      timing: { batchMs: TIMING.batchMs, commitTimeoutMs: TIMING.commitTimeoutMs, resendMinIntervalMs: TIMING.resendMinIntervalMs },
      head: null,
      candidates: new Map(candidates.map((c) => [c.participantId, c])),
      isPresent: (id) => present.has(id),
      excluded: new Set(),
      departed: new Set(),
      echoes: new Map(),
      epochHint: 0,
      dhKeyFor,
      rosterAt: () => undefined,
      exportSecret: () => {},
    };
  }
  const sent = (out: readonly LeaderOutput[]): KeysMessage[] =>
    out.flatMap((o) => (o.type === 'send' && o.message.type === 'keys' ? [o.message.keys] : []));

  it('uses the acked next key where it has one and the announced key otherwise, under a fresh sender key each time', () => {
    const alice = participant('alice');
    const [bob, carol] = [participant('bob'), participant('carol')];
    const bobNext = dhKeyPairFromSeed(systemRandom(32)).publicKey;
    const ctx = context([bob.announcement, carol.announcement], (id) => (id === 'bob' ? bobNext : undefined), alice);
    const messages = sent(leader.flush(leader.initialState(null), ctx, 0).out);
    const [k] = messages;
    if (!k) throw new Error('no key message');
    // One message per member, each with its own entry alone, under the epoch's one sender key.
    expect(messages.map((m) => m.entries.map((e) => e.to))).toEqual([['bob'], ['carol']]);
    expect(new Set(messages.map((m) => toBase64Url(m.senderDh))).size).toBe(1);
    const entries = messages.flatMap((m) => m.entries);
    expect(entries.find((e) => e.to === 'bob')?.dh).toEqual(bobNext);
    expect(entries.find((e) => e.to === 'carol')?.dh).toEqual(carol.dh.publicKey);
    expect(k.senderDh).not.toEqual(alice.dh.publicKey);
    const [again] = sent(leader.flush(leader.initialState(null), ctx, 0).out);
    expect(again?.senderDh).not.toEqual(k.senderDh);
  });
});
