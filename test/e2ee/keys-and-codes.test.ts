import { E2EE_VERSION } from '../../shared/e2ee/constants.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { transcript } from '../../shared/e2ee/encoding.ts';
import { chatKeyInfo, deriveChatKey } from '../../shared/e2ee/chat.ts';
import { deriveFrameKeys } from '../../shared/e2ee/sender-keys.ts';
import { createAnnouncement } from '../../shared/e2ee/announcement.ts';
import { EpochKeyRing } from '../../shared/e2ee/key-ring.ts';
import { createRoster, GENESIS_HASH, memberFromAnnouncement, type VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { generateIdentity, identityFromSeed } from '../../shared/e2ee/identity.ts';
import { kidEpoch, kidIndex, kidSource, KID_SOURCES, makeKid, MAX_ROSTER_INDEX, mediaKid, senderKidOf } from '../../shared/e2ee/kid.ts';
import { LivenessNonces } from '../../shared/e2ee/liveness.ts';
import { initCrypto, systemRandom } from '../../shared/e2ee/primitives.ts';
import { fingerprint, securityCode } from '../../shared/e2ee/security-code.ts';
import { toBase64Url } from '../../shared/e2ee/encoding.ts';
import { CTX, participant, rosterOf } from './fixtures.ts';

beforeAll(initCrypto);

describe('KID layout (epoch << 16 | roster index << 2 | source)', () => {
  it('encodes epoch, index and source and decodes them back', () => {
    expect(makeKid(1, 0)).toBe(0x10000n);
    expect(makeKid(0x1234, 0xab)).toBe(0x123402acn);
    expect([mediaKid(makeKid(1, 0), 'mic'), mediaKid(makeKid(1, 0), 'camera'), mediaKid(makeKid(1, 0), 'screen')]).toEqual([
      0x10001n,
      0x10002n,
      0x10003n,
    ]);
    const kid = mediaKid(makeKid(2 ** 48 - 1, MAX_ROSTER_INDEX), 'screen');
    expect(kid).toBe(2n ** 64n - 1n);
    expect([kidEpoch(kid), kidIndex(kid), kidSource(kid)]).toEqual([2 ** 48 - 1, 16383, 'screen']);
    expect(senderKidOf(kid)).toBe(makeKid(2 ** 48 - 1, MAX_ROSTER_INDEX));
  });

  it('a sender KID (source bits 0) names no source, so no frame carries it', () => {
    expect(kidSource(makeKid(7, 3))).toBeUndefined();
    expect(KID_SOURCES.map((s) => kidSource(mediaKid(makeKid(7, 3), s)))).toEqual(['mic', 'camera', 'screen']);
  });

  it('gives 250 senders with three sources each in one epoch distinct KIDs', () => {
    const kids = new Set(Array.from({ length: 250 }, (_, i) => KID_SOURCES.map((s) => mediaKid(makeKid(7, i), s))).flat());
    expect(kids.size).toBe(750);
    expect([...kids].every((k) => kidEpoch(k) === 7)).toBe(true);
    expect(kidIndex(mediaKid(makeKid(7, 249), 'camera'))).toBe(249);
  });

  it('refuses values that do not fit', () => {
    expect(() => makeKid(0, 0)).toThrow(RangeError);
    expect(() => makeKid(2 ** 48, 0)).toThrow(RangeError);
    expect(() => makeKid(1, 16384)).toThrow(RangeError);
  });
});

describe('frame base keys (HKDF-SHA256 via WebCrypto)', () => {
  const labels = { meetingId: 'standup-42', instanceId: 'inst_1', epoch: 3 };
  const ids = Array.from({ length: 200 }, (_, i) => `p${i}`);

  it('derives one distinct 32-byte key per sender, deterministically', async () => {
    const key = systemRandom(32);
    const a = await deriveFrameKeys(key, labels, ids);
    const b = await deriveFrameKeys(key, labels, ids);
    expect(a.map((k) => toBase64Url(k.baseKey))).toEqual(b.map((k) => toBase64Url(k.baseKey)));
    expect(new Set(a.map((k) => toBase64Url(k.baseKey))).size).toBe(200);
    expect(a.every((k) => k.baseKey.length === 32)).toBe(true);
    expect(a[199]).toMatchObject({ participantId: 'p199', index: 199, kid: makeKid(3, 199) });
  });

  it('changes every key when the meeting, instance or epoch label changes', async () => {
    const key = systemRandom(32);
    const base = (await deriveFrameKeys(key, labels, ['a']))[0]?.baseKey;
    for (const other of [
      { ...labels, meetingId: 'x' },
      { ...labels, instanceId: 'inst_2' },
      { ...labels, epoch: 4 },
    ]) {
      expect((await deriveFrameKeys(key, other, ['a']))[0]?.baseKey).not.toEqual(base);
    }
  });

  it('matches a plain HKDF computation with the documented labels', async () => {
    const key = systemRandom(32);
    const subtle = globalThis.crypto.subtle;
    const ikm = await subtle.importKey('raw', new Uint8Array(key), 'HKDF', false, ['deriveBits']);
    const salt = new Uint8Array(
      transcript('e2ee-meet/v1/sframe-epoch', { u32: E2EE_VERSION }, labels.meetingId, labels.instanceId, { u64: labels.epoch }),
    );
    const info = new Uint8Array(transcript('e2ee-meet/v1/sframe-base-key', { u64: labels.epoch }, { u32: 0 }, 'a'));
    const expected = new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, ikm, 256));
    expect((await deriveFrameKeys(key, labels, ['a']))[0]?.baseKey).toEqual(expected);
  });

  it('gives WebCrypto HKDF-SHA256 output for every sender and for the chat key (the synchronous HKDF changes no key)', async () => {
    const subtle = globalThis.crypto.subtle;
    const members = ['alice', 'bob', 'ünïcödé-id', ...Array.from({ length: 37 }, (_, i) => `p${i}`)];
    for (const epoch of [1, 2 ** 32 + 5]) {
      const l = { ...labels, epoch };
      const key = systemRandom(32);
      const ikm = await subtle.importKey('raw', new Uint8Array(key), 'HKDF', false, ['deriveBits']);
      const salt = new Uint8Array(
        transcript('e2ee-meet/v1/sframe-epoch', { u32: E2EE_VERSION }, l.meetingId, l.instanceId, { u64: l.epoch }),
      );
      const webcrypto = async (info: Uint8Array): Promise<Uint8Array> =>
        new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: new Uint8Array(info) }, ikm, 256));
      const keys = await deriveFrameKeys(key, l, members);
      for (const [i, id] of members.entries()) {
        expect(keys[i]?.baseKey).toEqual(await webcrypto(transcript('e2ee-meet/v1/sframe-base-key', { u64: l.epoch }, { u32: i }, id)));
      }
      expect(await deriveChatKey(key, l)).toEqual(await webcrypto(chatKeyInfo(l)));
      const ring = new EpochKeyRing('bob');
      const roster = {
        roster: { meetingId: l.meetingId, instanceId: l.instanceId, epoch, members: members.map((participantId) => ({ participantId })) },
        hash: new Uint8Array(32),
      } as unknown as VerifiedRoster;
      const installed = ring.install(roster, key.slice());
      expect(installed.own.baseKey).toEqual(keys[1]?.baseKey);
      expect(installed.senders.map((k) => k.participantId)).toEqual(members.filter((m) => m !== 'bob'));
      expect(installed.chatKey).toEqual(await deriveChatKey(key, l));
    }
  });
});

describe('system randomness', () => {
  it('fills buffers of any length from the platform CSPRNG, beyond one getRandomValues call', () => {
    expect(systemRandom(0)).toEqual(new Uint8Array(0));
    for (const n of [1, 9, 16, 24, 65536, 65537, 200_000]) {
      const a = systemRandom(n);
      expect(a.length).toBe(n);
      if (n >= 16) expect(a.subarray(-16)).not.toEqual(new Uint8Array(16));
    }
    expect(systemRandom(32)).not.toEqual(systemRandom(32));
    expect(() => systemRandom(-1)).toThrow();
  });
});

describe('fingerprint and security code', () => {
  it('shows a fingerprint as 8 groups of 5 digits, stable for a key', () => {
    const id = generateIdentity();
    expect(fingerprint(id.publicKey)).toMatch(/^\d{5}( \d{5}){7}$/);
    expect(fingerprint(id.publicKey)).toBe(fingerprint(id.publicKey));
    expect(fingerprint(generateIdentity().publicKey)).not.toBe(fingerprint(id.publicKey));
  });

  it('rebuilds an identity from its seed', () => {
    const id = generateIdentity();
    expect(identityFromSeed(id.privateKey.slice(0, 32))).toEqual({ ok: true, value: id });
    expect(identityFromSeed(new Uint8Array(5)).ok).toBe(false);
  });

  /** The code a member of `roster` shows once it installed `epochKey` (the agent's path: key ring, then securityCode). */
  const codeOf = (roster: VerifiedRoster, epochKey: Uint8Array, memberId = roster.roster.members[0]?.participantId ?? ''): string =>
    securityCode(roster.hash, new EpochKeyRing(memberId).install(roster, epochKey.slice()).authenticator);

  it('gives every holder of the epoch the same code, 6 groups of 5 digits', () => {
    const [a, b, c] = [participant('a'), participant('b'), participant('c')];
    const roster = rosterOf([a, b, c], 1);
    const key = systemRandom(32);
    const code = codeOf(roster, key, 'a');
    expect(code).toMatch(/^\d{5}( \d{5}){5}$/);
    expect(codeOf(roster, key, 'b')).toBe(code);
    expect(codeOf(roster, key, 'c')).toBe(code);
  });

  it('changes when anyone joins or leaves, or for another meeting instance', () => {
    const [a, b, c] = [participant('a'), participant('b'), participant('c')];
    const key = systemRandom(32);
    const code = codeOf(rosterOf([a, b, c], 1), key);
    expect(codeOf(rosterOf([a, b], 1), key)).not.toBe(code);
    expect(codeOf(rosterOf([a, b, c, participant('d')], 1), key)).not.toBe(code);
    // A second tab of the same profile counts as a member too.
    const tab = participant('a2');
    const tabFields = { ...CTX, participantId: 'a2', name: 'A', dhKey: tab.dh.publicKey, nonce: tab.nonces.latest };
    tab.announcement = createAnnouncement(tabFields, a.identity);
    expect(codeOf(rosterOf([a, b, c, tab], 1), key)).not.toBe(code);
    const other = (ctx: { meetingId: string; instanceId: string }): string => {
      const ps = [participant('a', ctx), participant('b', ctx)];
      const members = ps.map((p) => memberFromAnnouncement(p.announcement));
      return codeOf(createRoster({ ...ctx, epoch: 1, prevHash: GENESIS_HASH, members }, ps[0]!.identity), key);
    };
    expect(other({ ...CTX, instanceId: 'i2' })).not.toBe(other(CTX));
    expect(other({ ...CTX, meetingId: 'm2' })).not.toBe(other(CTX));
  });
});

describe('liveness nonces', () => {
  it('accepts the newest nonces and nothing older than the last one echoed', () => {
    const n = new LivenessNonces(systemRandom);
    const first = n.latest;
    const second = n.issue();
    const third = n.issue();
    expect(n.acceptable()).toEqual([first, second, third]);
    n.consume(second);
    expect(n.acceptable()).toEqual([second, third]);
  });

  it('keeps a bounded number of nonces', () => {
    const n = new LivenessNonces(systemRandom, 4);
    for (let i = 0; i < 10; i++) n.issue();
    expect(n.acceptable()).toHaveLength(4);
  });
});
