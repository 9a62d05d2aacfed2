import { beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, type WireMessage } from '../../shared/e2ee/wire.ts';
import { E2EE_VERSION, LIMITS } from '../../shared/e2ee/constants.ts';
import { fromBase64Url, toBase64Url, transcript, type Field } from '../../shared/e2ee/encoding.ts';
import { Reassembler, splitPayload } from '../../shared/e2ee/fragment.ts';
import { initCrypto, systemRandom } from '../../shared/e2ee/primitives.ts';
import { keysFor, participant, rosterOf, type TestParticipant } from './fixtures.ts';

beforeAll(initCrypto);

const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

let alice: TestParticipant, bob: TestParticipant;
let samples: WireMessage[];
beforeAll(() => {
  [alice, bob] = [participant('alice'), participant('bob')];
  const r = rosterOf([alice, bob], 1);
  samples = [
    { type: 'announce', announcement: alice.announcement },
    { type: 'roster', roster: r.roster },
    { type: 'keys', keys: keysFor(r, alice, [bob]) },
  ];
});

/** A valid announce payload as a plain object, to break one field at a time. */
function announceJson(): Record<string, unknown> {
  return JSON.parse(encodeMessage({ type: 'announce', announcement: alice.announcement })) as Record<string, unknown>;
}

describe('wire codec', () => {
  it('round-trips every message type', () => {
    for (const m of samples) expect(decodeMessage(encodeMessage(m))).toEqual({ ok: true, value: m });
  });

  it('rejects text that is not JSON, or JSON that is not an object', () => {
    expect(codeOf(decodeMessage('{"t":'))).toBe('MALFORMED');
    expect(codeOf(decodeMessage('[1,2]'))).toBe('MALFORMED');
    expect(codeOf(decodeMessage('null'))).toBe('MALFORMED');
  });

  it('rejects a payload over the relay limit before parsing it', () => {
    expect(codeOf(decodeMessage('x'.repeat(LIMITS.maxRelayPayload + 1)))).toBe('TOO_LARGE');
  });

  it('rejects unknown types and versions with their own codes', () => {
    expect(codeOf(decodeMessage(JSON.stringify({ ...announceJson(), t: 'gossip' })))).toBe('UNKNOWN_TYPE');
    // Version 1 is the KID layout without the media source, 3 the rosters without an unacked list,
    // 4 the rosters without the provisional flag: refused by version, not misread.
    for (const v of [1, 2, 3, 4, 6]) expect(codeOf(decodeMessage(JSON.stringify({ ...announceJson(), v })))).toBe('UNSUPPORTED_VERSION');
  });

  it.each([
    ['a key of the wrong length', { dh: toBase64Url(new Uint8Array(31)) }],
    ['a key that is not base64url', { ik: '+'.repeat(43) }],
    ['non-canonical base64url', { nonce: toBase64Url(new Uint8Array(16)).slice(0, -1) + 'B' }],
    ['a number where a string belongs', { sig: 7 }],
    ['an ID with forbidden characters', { id: 'bob<script>' }],
    ['an over-long ID', { id: 'a'.repeat(65) }],
    ['a missing field', { meeting: undefined }],
  ])('rejects %s as MALFORMED', (_what, change) => {
    expect(codeOf(decodeMessage(JSON.stringify({ ...announceJson(), ...change })))).toBe('MALFORMED');
  });

  it('rejects epochs that are not positive integers within 48 bits', () => {
    const roster = JSON.parse(encodeMessage(samples[1] as WireMessage)) as Record<string, unknown>;
    for (const epoch of [0, -1, 1.5, '3', 2 ** 48]) expect(codeOf(decodeMessage(JSON.stringify({ ...roster, epoch })))).toBe('MALFORMED');
  });

  it('rejects a roster that lists a participant twice', () => {
    const roster = JSON.parse(encodeMessage(samples[1] as WireMessage)) as { members: unknown[] };
    expect(codeOf(decodeMessage(JSON.stringify({ ...roster, members: [...roster.members, roster.members[0]] })))).toBe('MALFORMED');
  });

  it('rejects an empty roster and an unknown commit reason', () => {
    const roster = JSON.parse(encodeMessage(samples[1] as WireMessage)) as Record<string, unknown>;
    expect(codeOf(decodeMessage(JSON.stringify({ ...roster, members: [] })))).toBe('MALFORMED');
    const commit = {
      t: 'commit',
      v: E2EE_VERSION,
      meeting: 'm',
      instance: 'i',
      epoch: 1,
      leader: 'alice',
      rosterHash: toBase64Url(new Uint8Array(32)),
      reason: 'because',
      sig: toBase64Url(new Uint8Array(64)),
    };
    expect(codeOf(decodeMessage(JSON.stringify(commit)))).toBe('MALFORMED');
  });
});

describe('base64url', () => {
  it('round-trips all lengths and refuses non-canonical forms', () => {
    for (let n = 0; n < 40; n++) {
      const b = systemRandom(n);
      expect(fromBase64Url(toBase64Url(b))).toEqual(b);
    }
    expect(fromBase64Url('AB')).toBeUndefined(); // trailing bits set
    expect(fromBase64Url('A')).toBeUndefined();
    expect(fromBase64Url('AA==')).toBeUndefined(); // padding is not part of the format
    for (const bad of ['AA A', 'AA+A', 'AA/A', 'AAé', 'AA\u{1F600}', 'AA\u0000A']) expect(fromBase64Url(bad)).toBeUndefined();
  });
});

describe('transcript', () => {
  // The plain definition: each field as 4-byte big-endian length and bytes (strings UTF-8).
  const reference = (...fields: Field[]): Uint8Array => {
    const parts = fields.map((f) => {
      if (typeof f === 'string') return new TextEncoder().encode(f);
      if (f instanceof Uint8Array) return f;
      const b = new Uint8Array('u32' in f ? 4 : 8);
      if ('u32' in f) new DataView(b.buffer).setUint32(0, f.u32);
      else new DataView(b.buffer).setBigUint64(0, BigInt(f.u64));
      return b;
    });
    const out: number[] = [];
    for (const p of parts) out.push(p.length >>> 24, (p.length >>> 16) & 0xff, (p.length >>> 8) & 0xff, p.length & 0xff, ...p);
    return new Uint8Array(out);
  };

  it('encodes ASCII and non-ASCII strings, bytes and integers exactly as the definition', () => {
    const cases: Field[][] = [
      [],
      [''],
      ['e2ee-meet/v1/roster', { u32: 1 }, 'meeting-42', { u64: 2 ** 40 + 3 }, systemRandom(33), ''],
      ['Zoë', 'naïve café', '日本語', '\u{1F600}', 'a\uD800b', 'x'.repeat(300), '\u007f\u0080'],
      [{ u32: 0xffffffff }, { u64: Number.MAX_SAFE_INTEGER }, new Uint8Array(0), 'ascii', 'ünï'],
    ];
    for (const fields of cases) expect(transcript(...fields)).toEqual(reference(...fields));
  });
});

describe('fragments', () => {
  const big = JSON.stringify({ t: 'roster', pad: 'x"y'.repeat(5000) });

  it('leaves payloads that fit alone', () => {
    expect(splitPayload('{"t":"ack"}', 1000, 'm1')).toEqual(['{"t":"ack"}']);
  });

  it('splits a large payload into fragments that each fit, and reassembles it', () => {
    const parts = splitPayload(big, 2000, 'msg1');
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(2000);
    const r = new Reassembler({ now: () => 0 });
    const results = parts.map((p) => {
      const m = decodeMessage(p);
      if (!m.ok || m.value.type !== 'frag') throw new Error('not a fragment');
      return r.add('alice', m.value.fragment);
    });
    expect(results.slice(0, -1).every((x) => x.ok && x.value === null)).toBe(true);
    expect(results.at(-1)).toEqual({ ok: true, value: big });
  });

  it('rejects a duplicated fragment and a changed count', () => {
    const r = new Reassembler({ now: () => 0 });
    const f = { messageId: 'm', index: 0, count: 3, data: 'abc' };
    expect(r.add('alice', f).ok).toBe(true);
    expect(codeOf(r.add('alice', f))).toBe('FRAGMENT_INVALID');
    expect(r.add('alice', { ...f, messageId: 'n' }).ok).toBe(true);
    expect(codeOf(r.add('alice', { ...f, messageId: 'n', index: 1, count: 4 }))).toBe('FRAGMENT_INVALID');
  });

  it('bounds the size of a reassembled message', () => {
    const r = new Reassembler({ now: () => 0, maxMessageChars: 10 });
    expect(r.add('alice', { messageId: 'm', index: 0, count: 2, data: 'x'.repeat(8) }).ok).toBe(true);
    expect(codeOf(r.add('alice', { messageId: 'm', index: 1, count: 2, data: 'x'.repeat(8) }))).toBe('TOO_LARGE');
  });

  it('forgets unfinished messages after the timeout', () => {
    let now = 0;
    const r = new Reassembler({ now: () => now, timeoutMs: 100 });
    expect(r.add('alice', { messageId: 'm', index: 0, count: 2, data: 'a' }).ok).toBe(true);
    now = 1000;
    // The second half alone starts a new set instead of completing the expired one.
    expect(r.add('alice', { messageId: 'm', index: 1, count: 2, data: 'b' })).toEqual({ ok: true, value: null });
  });
});
