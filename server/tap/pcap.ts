// A pcap writer for RTP packets: each packet is wrapped in synthesised IPv4 and
// UDP headers (LINKTYPE_RAW) so Wireshark and tshark can open the file and
// decode it as RTP ("Decode As… RTP" on the UDP port given in the index).

const LINKTYPE_RAW = 101;

export function pcapGlobalHeader(): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(0xa1b2c3d4, 0); // microsecond timestamps
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeInt32LE(0, 8);
  b.writeUInt32LE(0, 12);
  b.writeUInt32LE(65535, 16);
  b.writeUInt32LE(LINKTYPE_RAW, 20);
  return b;
}

function ipv4Checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Endpoint {
  ip: [number, number, number, number];
  port: number;
}

/** One pcap record: record header + IPv4 + UDP + payload. */
export function pcapRecord(payload: Uint8Array, timeMs: number, src: Endpoint, dst: Endpoint, ipId: number): Buffer {
  const udpLen = 8 + payload.length;
  const ipLen = 20 + udpLen;
  const rec = Buffer.alloc(16 + ipLen);
  const sec = Math.floor(timeMs / 1000);
  rec.writeUInt32LE(sec, 0);
  rec.writeUInt32LE(Math.floor((timeMs - sec * 1000) * 1000), 4);
  rec.writeUInt32LE(ipLen, 8);
  rec.writeUInt32LE(ipLen, 12);
  const ip = rec.subarray(16, 36);
  ip[0] = 0x45; // v4, 20-byte header
  ip.writeUInt16BE(ipLen, 2);
  ip.writeUInt16BE(ipId & 0xffff, 4);
  ip[8] = 64; // TTL
  ip[9] = 17; // UDP
  ip.set(src.ip, 12);
  ip.set(dst.ip, 16);
  ip.writeUInt16BE(ipv4Checksum(ip), 10);
  const udp = rec.subarray(36, 44);
  udp.writeUInt16BE(src.port, 0);
  udp.writeUInt16BE(dst.port, 2);
  udp.writeUInt16BE(udpLen, 4);
  // UDP checksum 0 = not computed (allowed over IPv4).
  rec.set(payload, 44);
  return rec;
}

/** Parses a pcap written by this module back into payloads (for the audit). */
export function readPcap(buf: Buffer): Array<{ timeMs: number; payload: Buffer; dstPort: number }> {
  if (buf.length < 24 || buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('not a microsecond little-endian pcap file');
  if (buf.readUInt32LE(20) !== LINKTYPE_RAW) throw new Error('unexpected pcap link type');
  const out: Array<{ timeMs: number; payload: Buffer; dstPort: number }> = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = buf.readUInt32LE(off);
    const usec = buf.readUInt32LE(off + 4);
    const len = buf.readUInt32LE(off + 8);
    const pkt = buf.subarray(off + 16, off + 16 + len);
    off += 16 + len;
    if (pkt.length < 28 || pkt[9] !== 17) continue;
    const ihl = (pkt[0]! & 0x0f) * 4;
    out.push({ timeMs: sec * 1000 + usec / 1000, dstPort: pkt.readUInt16BE(ihl + 2), payload: pkt.subarray(ihl + 8) });
  }
  return out;
}
