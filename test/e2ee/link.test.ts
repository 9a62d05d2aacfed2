import { beforeAll, describe, expect, it } from 'vitest';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { LinkSeal, linkSecretFromHash, newLinkSecret, parseLinkSecret, innerPayloadLimit } from '../../shared/e2ee/link.ts';
import { toBase64Url } from '../../shared/e2ee/encoding.ts';
import { codes, harness, inject, meeting, rosterIds, wait } from './harness.ts';

beforeAll(initCrypto);

const SECRET = new Uint8Array(32).fill(3);

describe('the link secret', () => {
  it('is made of 32 random bytes, 43 base64url characters, and parses back', () => {
    const s = newLinkSecret();
    expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newLinkSecret()).not.toBe(s);
    const parsed = parseLinkSecret(s);
    expect(parsed.ok && toBase64Url(parsed.value)).toBe(s);
  });

  it('is read from the fragment only as s=, 22 to 86 canonical base64url characters', () => {
    expect(linkSecretFromHash('#s=' + 'A'.repeat(22)).ok).toBe(true);
    expect(linkSecretFromHash('#x=1&s=' + 'A'.repeat(86)).ok).toBe(true);
    const code = (hash: string) => {
      const r = linkSecretFromHash(hash);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(code('')).toBe('LINK_MISSING');
    expect(code('#')).toBe('LINK_MISSING');
    expect(code('#s=')).toBe('LINK_MISSING');
    expect(code('#s=' + 'A'.repeat(21))).toBe('LINK_MALFORMED');
    expect(code('#s=' + 'A'.repeat(87))).toBe('LINK_MALFORMED');
    expect(code('#s=' + 'A'.repeat(21) + '+')).toBe('LINK_MALFORMED');
    expect(code('#s=' + 'A'.repeat(21) + 'B')).toBe('LINK_MALFORMED'); // non-canonical: leftover bits set
  });
});

describe('the link envelope', () => {
  const payload = '{"t":"announce","name":"Zoë Marchetti"}';

  it('opens what the same link sealed for the same meeting, instance and sender', () => {
    const a = new LinkSeal(SECRET, 'm1', 'i1');
    const sealed = a.seal('alice', payload);
    expect(sealed.startsWith('L1.')).toBe(true);
    expect(sealed).not.toContain('announce');
    expect(sealed).not.toContain('Marchetti');
    expect(new LinkSeal(SECRET, 'm1', 'i1').open('alice', sealed)).toEqual({ ok: true, value: payload });
  });

  it('refuses another link, meeting, instance or sender, and anything unsealed', () => {
    const sealed = new LinkSeal(SECRET, 'm1', 'i1').seal('alice', payload);
    const refused = (seal: LinkSeal, from: string, text = sealed) => {
      const r = seal.open(from, text);
      return !r.ok && r.error.code === 'NO_LINK_PROOF';
    };
    expect(refused(new LinkSeal(new Uint8Array(32).fill(4), 'm1', 'i1'), 'alice')).toBe(true);
    expect(refused(new LinkSeal(SECRET, 'm2', 'i1'), 'alice')).toBe(true);
    expect(refused(new LinkSeal(SECRET, 'm1', 'i2'), 'alice')).toBe(true);
    expect(refused(new LinkSeal(SECRET, 'm1', 'i1'), 'bob')).toBe(true);
    expect(refused(new LinkSeal(SECRET, 'm1', 'i1'), 'alice', payload)).toBe(true);
    expect(refused(new LinkSeal(SECRET, 'm1', 'i1'), 'alice', sealed.slice(0, -2))).toBe(true);
  });

  it('keeps a payload of the inner limit within the relay limit', () => {
    const seal = new LinkSeal(SECRET, 'm1', 'i1');
    const max = 65_536;
    expect(seal.seal('alice', 'x'.repeat(innerPayloadLimit(max))).length).toBeLessThanOrEqual(max);
  });
});

describe('participants with different links for one meeting ID', () => {
  it('never key each other: each keys its own group and sees the others as outsiders', async () => {
    const h = harness({ seed: 31 });
    const [alice, bob] = await meeting(h, ['Alice', 'Bob']);
    const other = new Uint8Array(32).fill(9);
    const eve = await h.sim.join({ name: 'Eve', linkSecret: other });
    await h.sim.settle();
    const fay = await h.sim.join({ name: 'Fay', linkSecret: other });
    await h.sim.settle();
    await wait(h, 10_000);
    expect(rosterIds(alice!)).toEqual([alice!.id, bob!.id]);
    expect(rosterIds(bob!)).toEqual([alice!.id, bob!.id]);
    // Eve stops waiting for people whose payloads her link cannot open, and starts her own chain; Fay joins it.
    expect(rosterIds(eve)).toEqual([eve.id, fay.id]);
    expect(eve.log.state).toBe('ok');
    for (const p of [alice!, bob!]) {
      expect(codes(p)).toContain('NO_LINK_PROOF');
      expect(p.log.outsiders).toEqual(expect.arrayContaining([eve.id, fay.id]));
    }
    expect(eve.log.outsiders).toEqual(expect.arrayContaining([alice!.id, bob!.id]));
    // No key of one group ever reached the other.
    const keysOf = (p: typeof alice) => [...p!.log.received.values()].flatMap((m) => [...m.values()].map((k) => toBase64Url(k)));
    const groupA = new Set([...keysOf(alice), ...keysOf(bob)]);
    expect([...keysOf(eve), ...keysOf(fay)].filter((k) => groupA.has(k))).toEqual([]);
  });

  it('a participant without the link (the server’s own) is never keyed in an unlocked meeting', async () => {
    const h = harness({ seed: 32 });
    const [alice, bob] = await meeting(h, ['Alice', 'Bob']);
    const mallory = await h.sim.join({ name: 'Mallory', linkSecret: new Uint8Array(32).fill(1) });
    await h.sim.settle();
    await wait(h, 5_000);
    expect(rosterIds(alice!)).toEqual([alice!.id, bob!.id]);
    // Mallory, alone in a chain of her own, holds none of the meeting's keys.
    const held = (p: typeof alice) => [
      ...[...p!.log.received.values()].flatMap((m) => [...m.values()].map((k) => toBase64Url(k))),
      ...[...p!.log.sent.values()].map((k) => toBase64Url(k.baseKey)),
    ];
    const meetingKeys = new Set([...held(alice), ...held(bob)]);
    expect(meetingKeys.size).toBeGreaterThan(0);
    expect(held(mallory).filter((k) => meetingKeys.has(k))).toEqual([]);
    expect(codes(alice!)).toContain('NO_LINK_PROOF');
  });
});

describe('a newcomer whose announcement never arrived', () => {
  it('announces again until it is keyed, and stops being an outsider once its own payload proves the link', async () => {
    const h = harness({ seed: 33 });
    const [alice] = await meeting(h, ['Alice']);
    // The server withholds everything the newcomer sends at first (its announcement among it)...
    let withholding = true;
    let dropped = 0;
    h.drop = (from, _to, plain) => {
      if (from === alice!.id || !withholding) return false;
      if (plain.includes('"t":"announce"')) dropped++;
      return true;
    };
    const bob = await h.sim.join({ name: 'Bob' });
    // ...and relays in its place a payload no link opens, as Bob.
    inject(alice!, bob.id, '{"t":"announce"}', { raw: true });
    await alice!.agent.idle();
    withholding = false;
    expect(dropped).toBe(1);
    expect(alice!.log.outsiders).toContain(bob.id);
    expect(rosterIds(bob)).toEqual([]);
    await wait(h, 3_000);
    expect(rosterIds(alice!)).toEqual([alice!.id, bob.id]);
    expect(rosterIds(bob)).toEqual([alice!.id, bob.id]);
    expect(alice!.log.outsiders).not.toContain(bob.id);
  });
});
