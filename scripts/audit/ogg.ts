// Ogg (RFC 3533) pages for Ogg Opus (RFC 7845): enough to hand captured Opus
// packets to a real decoder, and to read encoder output back for fixtures.
//
// Page: "OggS", version 0, header type, granule position (int64 LE), stream
// serial, page sequence, CRC-32, segment count, lacing values, then the data.
// The CRC is Ogg's own: polynomial 0x04c11db7, not reflected, initial value 0,
// no final xor, computed over the whole page with the CRC field zeroed.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let b = 0; b < 8; b++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

export function oggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]!) >>> 0;
  return crc;
}

const FLAG_CONTINUED = 0x01;
const FLAG_BOS = 0x02;
const FLAG_EOS = 0x04;

export interface OggPacket {
  readonly data: Uint8Array;
  /** Granule position after this packet (for Opus: 48 kHz samples decoded so far, pre-skip included). */
  readonly granule: bigint;
}

/** One page holding whole packets; a packet of n bytes takes floor(n/255)+1 lacing values. */
export function oggPage(packets: readonly Uint8Array[], granule: bigint, serial: number, sequence: number, flags: number): Buffer {
  const lacing: number[] = [];
  for (const p of packets) {
    for (let n = p.length; ; n -= 255) {
      lacing.push(Math.min(n, 255));
      if (n < 255) break;
    }
  }
  if (lacing.length > 255) throw new RangeError('too many segments for one Ogg page');
  const bodyLen = packets.reduce((n, p) => n + p.length, 0);
  const page = Buffer.alloc(27 + lacing.length + bodyLen);
  page.write('OggS', 0, 'latin1');
  page[4] = 0;
  page[5] = flags;
  page.writeBigInt64LE(granule, 6);
  page.writeUInt32LE(serial >>> 0, 14);
  page.writeUInt32LE(sequence >>> 0, 18);
  page[26] = lacing.length;
  page.set(lacing, 27);
  let at = 27 + lacing.length;
  for (const p of packets) {
    page.set(p, at);
    at += p.length;
  }
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

export interface OpusHeadInfo {
  readonly channels: number;
  readonly preSkip: number;
  readonly inputRate: number;
}

/** RFC 7845 §5.1, channel mapping family 0 (mono/stereo, as WebRTC sends). */
export function opusHead(info: OpusHeadInfo): Uint8Array {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1;
  b[9] = info.channels;
  b.writeUInt16LE(info.preSkip, 10);
  b.writeUInt32LE(info.inputRate, 12);
  b.writeInt16LE(0, 16);
  b[18] = 0;
  return b;
}

/** RFC 7845 §5.2: vendor string and no user comments. */
export function opusTags(vendor: string): Uint8Array {
  const v = Buffer.from(vendor, 'utf8');
  const b = Buffer.alloc(8 + 4 + v.length + 4);
  b.write('OpusTags', 0, 'latin1');
  b.writeUInt32LE(v.length, 8);
  b.set(v, 12);
  b.writeUInt32LE(0, 12 + v.length);
  return b;
}

/**
 * A complete Ogg Opus stream: header pages, then audio pages of up to
 * `perPage` packets each (the last one flagged end-of-stream).
 */
export function writeOggOpus(head: OpusHeadInfo, packets: readonly OggPacket[], serial = 0x5eed, perPage = 50): Buffer {
  const pages: Buffer[] = [oggPage([opusHead(head)], 0n, serial, 0, FLAG_BOS), oggPage([opusTags('e2ee-meet audit')], 0n, serial, 1, 0)];
  let seq = 2;
  for (let i = 0; i < packets.length; i += perPage) {
    const chunk = packets.slice(i, i + perPage);
    const last = i + perPage >= packets.length;
    pages.push(
      oggPage(
        chunk.map((p) => p.data),
        chunk[chunk.length - 1]!.granule,
        serial,
        seq++,
        last ? FLAG_EOS : 0,
      ),
    );
  }
  if (packets.length === 0) pages.push(oggPage([], 0n, serial, seq, FLAG_EOS));
  return Buffer.concat(pages);
}

export type OggReadError = 'NOT_OGG' | 'BAD_CRC' | 'TRUNCATED';

/** Packets of the first logical stream, in order (continued packets joined). */
export function readOggPackets(buf: Buffer): { ok: true; value: Uint8Array[] } | { ok: false; code: OggReadError } {
  const packets: Uint8Array[] = [];
  let partial: Buffer[] = [];
  let at = 0;
  if (buf.toString('latin1', 0, 4) !== 'OggS') return { ok: false, code: 'NOT_OGG' };
  while (at < buf.length) {
    if (at + 27 > buf.length) return { ok: false, code: 'TRUNCATED' };
    if (buf.toString('latin1', at, at + 4) !== 'OggS') return { ok: false, code: 'NOT_OGG' };
    const nseg = buf[at + 26]!;
    const lacing = buf.subarray(at + 27, at + 27 + nseg);
    const bodyLen = lacing.reduce((n, l) => n + l, 0);
    const end = at + 27 + nseg + bodyLen;
    if (end > buf.length) return { ok: false, code: 'TRUNCATED' };
    const page = Buffer.from(buf.subarray(at, end));
    const crc = page.readUInt32LE(22);
    page.writeUInt32LE(0, 22);
    if (oggCrc(page) !== crc) return { ok: false, code: 'BAD_CRC' };
    if ((buf[at + 5]! & FLAG_CONTINUED) === 0) partial = [];
    let p = at + 27 + nseg;
    for (const l of lacing) {
      partial.push(buf.subarray(p, p + l));
      p += l;
      if (l < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    at = end;
  }
  return { ok: true, value: packets };
}
