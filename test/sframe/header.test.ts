import { describe, expect, it } from 'vitest';
import { bytesToHex, decodeHeader, encodeHeader, hexToBytes, headerLength } from '../../shared/sframe/index.ts';
import { MAX_U64, unwrap } from './fixtures.ts';

const hex = (s: string) => hexToBytes(s) ?? new Uint8Array();

describe('SFrame header', () => {
  it('encodes KID 0x123, CTR 0x4567 as 99 01 23 45 67', () => {
    expect(bytesToHex(unwrap(encodeHeader(0x123n, 0x4567n)))).toBe('9901234567');
  });

  it('carries KID and CTR 0-7 inline in the config byte', () => {
    expect(bytesToHex(unwrap(encodeHeader(0n, 0n)))).toBe('00');
    expect(bytesToHex(unwrap(encodeHeader(7n, 7n)))).toBe('77');
    expect(bytesToHex(unwrap(encodeHeader(1n, 8n)))).toBe('1808');
  });

  it('round-trips KID and CTR of 2^64-1 in 17 bytes', () => {
    const h = unwrap(encodeHeader(MAX_U64, MAX_U64));
    expect(h.length).toBe(17);
    expect(bytesToHex(h)).toBe('ff' + 'ff'.repeat(16));
    expect(unwrap(decodeHeader(h))).toEqual({ kid: MAX_U64, ctr: MAX_U64, length: 17 });
    expect(headerLength(MAX_U64, MAX_U64)).toBe(17);
  });

  it.each([0n, 7n, 8n, 255n, 256n, 0xffffffffn, 0x100000000n, 0xffffffffffffn, 0x1000000000000n, 1n << 56n, MAX_U64])(
    'round-trips %s as both KID and CTR',
    (v) => {
      const h = unwrap(encodeHeader(v, v));
      expect(unwrap(decodeHeader(h))).toEqual({ kid: v, ctr: v, length: h.length });
      expect(h.length).toBe(headerLength(v, v));
    },
  );

  it('rejects every truncation of a header as MALFORMED / HEADER_TRUNCATED', () => {
    const full = unwrap(encodeHeader(0x123456n, MAX_U64));
    for (let n = 0; n < full.length; n++) {
      const r = decodeHeader(full.subarray(0, n));
      expect(r).toMatchObject({ ok: false, error: { code: 'MALFORMED', detail: 'HEADER_TRUNCATED' } });
    }
  });

  it('rejects a KID or CTR that is not minimally encoded', () => {
    // KID 5 in an extended 1-byte field, CTR 0x00ff in two bytes.
    for (const bad of ['8005', '0900ff', '900001', '0805']) {
      expect(decodeHeader(hex(bad))).toMatchObject({ ok: false, error: { code: 'MALFORMED', detail: 'HEADER_NON_MINIMAL' } });
    }
  });

  it('refuses to encode values outside 0..2^64-1', () => {
    expect(encodeHeader(MAX_U64 + 1n, 0n)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(encodeHeader(0n, -1n)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
  });

  it('decodes at an offset and ignores the bytes after the header', () => {
    const buf = hex('aabb9901234567deadbeef');
    expect(unwrap(decodeHeader(buf, 2))).toEqual({ kid: 0x123n, ctr: 0x4567n, length: 5 });
  });
});
