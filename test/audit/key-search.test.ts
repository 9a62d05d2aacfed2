import { describe, expect, it } from 'vitest';
import { extractEmbedded } from '../../scripts/audit/embedded.ts';
import { KeyScanner } from '../../scripts/audit/key-scan.ts';
import { needlesForKey, NeedleIndex, parseKeyHex } from '../../scripts/audit/key-search.ts';
import { SeededBytes } from '../../scripts/audit/rng.ts';

const key32 = new SeededBytes('k32').next(32);
const hex32 = Buffer.from(key32).toString('hex');

function scanText(text: string, keys = [{ label: 'epoch 3 key', hex: hex32 }]) {
  const s = new KeyScanner(keys);
  s.scanSignalingLine('line 1', text);
  return s.summary().hits;
}

describe('key material search', () => {
  it.each([
    ['hex', hex32],
    ['HEX', hex32.toUpperCase()],
    ['base64', Buffer.from(key32).toString('base64')],
    ['base64url', Buffer.from(key32).toString('base64url')],
  ])('finds a key written as %s in a signaling line', (form, text) => {
    const hits = scanText(JSON.stringify({ type: 'relay', payload: `x${text}y` }));
    // Text forms cover the windows aligned with the encoding: at least the first 16 bytes.
    expect(hits.some((h) => h.label === 'epoch 3 key' && h.form === form && h.offset === 0 && h.length >= 16)).toBe(true);
  });

  it('finds a truncated key (any 16-byte window)', () => {
    const middle = Buffer.from(key32.subarray(7, 25)).toString('hex');
    const hits = scanText(`{"k":"${middle}"}`);
    expect(hits.find((h) => h.form === 'hex')).toMatchObject({ offset: 7, length: 18, keyLength: 32 });
  });

  it('finds a key inside a larger base64 blob at an odd byte offset, by decoding the blob', () => {
    const blob = Buffer.concat([Buffer.from('xy'), key32, Buffer.from('trailing bytes')]).toString('base64');
    const hits = scanText(`{"payload":"${blob}"}`);
    expect(hits.some((h) => h.form === 'raw' && h.where.includes('inside base64'))).toBe(true);
  });

  it('finds a key in base64 inside JSON inside base64 (a relay payload)', () => {
    const inner = Buffer.from(JSON.stringify({ epochKey: Buffer.from(key32).toString('base64') })).toString('base64url');
    expect(scanText(JSON.stringify({ type: 'relay', payload: inner })).length).toBeGreaterThan(0);
  });

  it('finds a key serialised as a byte array or as JSON.stringify(Uint8Array)', () => {
    const asObject = JSON.stringify(Object.fromEntries([...key32].map((b, i) => [String(i), b])));
    expect(scanText(JSON.stringify({ k: [...key32] })).some((h) => h.where.includes('byte-array'))).toBe(true);
    expect(
      scanText(JSON.stringify({ message: JSON.stringify({ k: JSON.parse(asObject) }) })).some((h) => h.where.includes('byte-array')),
    ).toBe(true);
  });

  it('finds raw key bytes split across two RTP packets once the frame is reassembled', () => {
    const s = new KeyScanner([{ label: 'sframe key', hex: hex32 }]);
    s.scanPacket('packet 1', Uint8Array.from([0x80, ...key32.subarray(0, 12)]));
    s.scanPacket('packet 2', Uint8Array.from([0x80, ...key32.subarray(12)]));
    s.scanFrame('frame 0', Uint8Array.from([1, 2, ...key32]));
    expect(s.summary().hits.map((h) => h.where)).toEqual(['packet 2', 'frame 0']); // packet 2 holds a 20-byte piece
  });

  it('reports nothing for unrelated text and bytes', () => {
    const other = new SeededBytes('other').next(4096);
    const s = new KeyScanner([{ label: 'k', hex: hex32 }]);
    s.scanSignalingLine('l', JSON.stringify({ payload: Buffer.from(other).toString('base64') }));
    s.scanPacket('p', other);
    expect(s.summary().hits).toEqual([]);
  });

  it('searches short keys (SFrame salts are 12 bytes) whole, and refuses keys too short to search', () => {
    const salt = new SeededBytes('salt').next(12);
    expect(needlesForKey('salt', salt).every((n) => n.length === 12 && n.offset === 0)).toBe(true);
    expect(
      scanText(Buffer.from(salt).toString('hex'), [{ label: 'salt', hex: Buffer.from(salt).toString('hex') }]).map((h) => h.form),
    ).toContain('hex');
    expect(parseKeyHex('0102')).toMatchObject({ ok: false, code: 'TOO_SHORT' });
    expect(parseKeyHex('zz')).toMatchObject({ ok: false, code: 'BAD_HEX' });
    const s = new KeyScanner([{ label: 'bad', hex: 'nothex' }]);
    expect(s.summary()).toMatchObject({ ran: false, skipped: [{ label: 'bad', code: 'BAD_HEX' }] });
  });

  it('matches every needle wherever it starts, including at the very end', () => {
    const needles = needlesForKey('k', key32);
    const index = new NeedleIndex(needles);
    const hay = Uint8Array.from([...new SeededBytes('h').next(100), ...key32.subarray(16)]);
    expect(index.scan(hay).map((h) => [h.needle.form, h.needle.offset, h.at])).toEqual([['raw', 16, 100]]);
  });
});

describe('decoding what signaling text embeds', () => {
  it('decodes hex and base64 tokens at every alignment', () => {
    const bytes = new SeededBytes('e').next(24);
    const b64 = Buffer.from(bytes).toString('base64');
    const found = extractEmbedded(`a ${b64.slice(1)} b`).map((e) => Buffer.from(e.bytes).toString('hex'));
    // Dropping one character shifts the groups; one of the phases realigns 15 of the bytes.
    expect(found.some((h) => h.includes(Buffer.from(bytes.subarray(3)).toString('hex').slice(0, 30)))).toBe(true);
  });
});
