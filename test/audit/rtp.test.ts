import { describe, expect, it } from 'vitest';
import { parseRtp, SequenceUnwrapper } from '../../scripts/audit/rtp.ts';
import { rtpPacket } from './fixtures.ts';

const base = {
  pt: 101,
  seq: 4242,
  ts: 0x12345678,
  ssrc: 0xdeadbeef,
  marker: true,
  extensions: [] as Array<[number, Uint8Array]>,
  payload: Uint8Array.of(1, 2, 3, 4, 5),
};

function unwrapOk<T>(r: { ok: true; value: T } | { ok: false; code: string }): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.code}`);
  return r.value;
}

describe('RTP header parsing', () => {
  it('reads the fixed header and the payload after one-byte header extensions', () => {
    const pkt = rtpPacket({
      ...base,
      extensions: [
        [1, Uint8Array.of(0x30)],
        [4, Uint8Array.of(1, 2, 3)],
        [5, Uint8Array.of(0, 9)],
      ],
    });
    const p = unwrapOk(parseRtp(pkt));
    expect(p).toMatchObject({
      marker: true,
      payloadType: 101,
      sequenceNumber: 4242,
      timestamp: 0x12345678,
      ssrc: 0xdeadbeef,
      extensionProfile: 0xbede,
    });
    expect(p.extensions.map((e) => [e.id, [...e.data]])).toEqual([
      [1, [0x30]],
      [4, [1, 2, 3]],
      [5, [0, 9]],
    ]);
    expect([...p.payload]).toEqual([1, 2, 3, 4, 5]);
  });

  it('reads two-byte header extensions (RFC 8285 §4.3), including empty elements and padding', () => {
    const ext = Uint8Array.of(7, 0, 0, 9, 3, 0xaa, 0xbb, 0xcc); // id 7 empty, a padding byte, id 9 with 3 bytes
    const pkt = new Uint8Array(12 + 4 + ext.length + 2);
    pkt.set([0x90, 0x65, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
    pkt.set([0x10, 0x00, 0, ext.length / 4], 12);
    pkt.set(ext, 16);
    pkt.set([0x77, 0x88], 16 + ext.length);
    const p = unwrapOk(parseRtp(pkt));
    expect(p.extensionProfile).toBe(0x1000);
    expect(p.extensions.map((e) => [e.id, e.data.length])).toEqual([
      [7, 0],
      [9, 3],
    ]);
    expect([...p.payload]).toEqual([0x77, 0x88]);
  });

  it('skips CSRCs and strips padding', () => {
    const pkt = new Uint8Array(12 + 8 + 3 + 4);
    pkt.set([0xa2, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]); // padding, 2 CSRCs
    pkt.set([0, 0, 0, 0x11, 0, 0, 0, 0x22], 12);
    pkt.set([9, 8, 7], 20);
    pkt.set([0, 0, 0, 4], 23);
    const p = unwrapOk(parseRtp(pkt));
    expect(p.csrcs).toEqual([0x11, 0x22]);
    expect(p.paddingLength).toBe(4);
    expect([...p.payload]).toEqual([9, 8, 7]);
  });

  it.each([
    ['TOO_SHORT', Uint8Array.of(0x80, 0x60, 0, 1)],
    ['BAD_VERSION', new Uint8Array(12)],
    ['CSRC_TRUNCATED', Uint8Array.of(0x8f, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2)],
    ['EXTENSION_TRUNCATED', Uint8Array.of(0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 4, 0x10)],
    ['BAD_PADDING', Uint8Array.of(0xa0, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 200)],
  ])('refuses a malformed packet with %s', (code, bytes) => {
    const r = parseRtp(bytes);
    expect(r.ok ? 'OK' : r.code).toBe(code);
  });
});

describe('sequence number unwrapping', () => {
  it('keeps counting across the 16-bit wrap and places late packets before newer ones', () => {
    const u = new SequenceUnwrapper();
    const seqs = [65534, 65535, 0, 65533, 1, 2].map((s) => u.unwrap(s));
    expect(seqs.map((s) => s - seqs[0]!)).toEqual([0, 1, 2, -1, 3, 4]);
  });
});
