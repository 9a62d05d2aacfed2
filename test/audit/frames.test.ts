import { describe, expect, it } from 'vitest';
import { assembleFrames, type FramePacket } from '../../scripts/audit/frames.ts';
import { parsePayload, type PayloadCodec } from '../../scripts/audit/payload.ts';

function unit(codec: PayloadCodec, payload: Uint8Array) {
  const r = parsePayload(codec, payload);
  if (!r.ok) throw new Error(r.code);
  return r.value;
}

let arrival = 0;
function pkt(codec: PayloadCodec, seq: number, timestamp: number, marker: boolean, payload: number[]): FramePacket {
  return { seq, timestamp, marker, arrival: arrival++, timeMs: 0, unit: unit(codec, Uint8Array.from(payload)) };
}

describe('VP8 payload descriptor (RFC 7741)', () => {
  it('strips a minimal descriptor and marks the start of a frame (S=1, PID=0)', () => {
    expect(unit('vp8', Uint8Array.of(0x10, 0xaa))).toMatchObject({ start: true, data: Uint8Array.of(0xaa) });
    expect(unit('vp8', Uint8Array.of(0x00, 0xaa)).start).toBe(false);
    expect(unit('vp8', Uint8Array.of(0x11, 0xaa)).start).toBe(false); // a later partition
  });

  it('strips the extended fields: 15-bit PictureID, TL0PICIDX, TID/KEYIDX', () => {
    const u = unit('vp8', Uint8Array.of(0x90, 0xf0, 0x81, 0x23, 0x05, 0x40, 0xaa, 0xbb));
    expect([...u.data]).toEqual([0xaa, 0xbb]);
    expect(unit('vp8', Uint8Array.of(0x90, 0x80, 0x12, 0xcc)).data).toEqual(Uint8Array.of(0xcc)); // 7-bit PictureID
  });

  it('refuses a descriptor cut short', () => {
    const r = parsePayload('vp8', Uint8Array.of(0x90, 0x80));
    expect(r.ok ? 'OK' : r.code).toBe('DESCRIPTOR_TRUNCATED');
  });
});

describe('VP9 payload descriptor (RFC 9628)', () => {
  it('reads B/E/P and the spatial layer, and skips the scalability structure', () => {
    // I, L, B, E, V; PictureID 15-bit; layer byte SID=1; TL0PICIDX; SS with one layer's size.
    const u = unit('vp9', Uint8Array.of(0xae, 0x80, 0x01, 0x02, 0x07, 0x10, 0x01, 0x40, 0x00, 0xf0, 0x99));
    expect(u).toMatchObject({ start: true, end: true, layer: 1, keyframeHint: true });
    expect([...u.data]).toEqual([0x99]);
  });

  it('reads flexible-mode reference indices', () => {
    const u = unit('vp9', Uint8Array.of(0x58, 0x03, 0x04, 0x77)); // P, F, B; two P_DIFFs (N set on the first)
    expect(u).toMatchObject({ start: true, end: false, keyframeHint: false });
    expect([...u.data]).toEqual([0x77]);
  });
});

describe('frame reassembly', () => {
  it('joins the packets of a frame in sequence order whatever the arrival order, and ignores duplicates', () => {
    const a = pkt('vp8', 10, 1000, false, [0x10, 1, 2]);
    const b = pkt('vp8', 11, 1000, false, [0x00, 3, 4]);
    const c = pkt('vp8', 12, 1000, true, [0x00, 5]);
    const r = assembleFrames([c, a, b, b]);
    expect(r.frames).toHaveLength(1);
    expect([...r.frames[0]!.data]).toEqual([1, 2, 3, 4, 5]);
    expect(r.duplicatePackets).toBe(1);
    expect(r.frames[0]!.arrival).toBe(a.arrival);
  });

  it('leaves out a frame with a missing packet and keeps the next one', () => {
    const r = assembleFrames([
      pkt('vp8', 20, 2000, false, [0x10, 1]),
      pkt('vp8', 22, 2000, true, [0x00, 3]),
      pkt('vp8', 23, 3000, true, [0x10, 4]),
    ]);
    expect(r.incomplete).toBe(1);
    expect(r.frames.map((f) => [...f.data])).toEqual([[4]]);
  });

  it('ends a VP8 frame without a marker where the next packet has a new timestamp', () => {
    const r = assembleFrames([pkt('vp8', 30, 4000, false, [0x10, 1]), pkt('vp8', 31, 5000, true, [0x10, 2])]);
    expect(r.frames.map((f) => [...f.data])).toEqual([[1], [2]]);
  });

  it('does not count a frame whose first packet is missing', () => {
    const r = assembleFrames([pkt('vp8', 41, 6000, true, [0x00, 2])]);
    expect(r).toMatchObject({ frames: [], incomplete: 1 });
  });

  it('splits VP9 spatial layers of one picture into separate layer frames', () => {
    const r = assembleFrames([
      pkt('vp9', 50, 7000, false, [0x2c, 0x00, 0x00, 0xa]), // L, B, E; SID 0; TL0PICIDX
      pkt('vp9', 51, 7000, true, [0x2c, 0x02, 0x00, 0xb]), // SID 1
    ]);
    expect(r.frames.map((f) => [f.layer, [...f.data]])).toEqual([
      [0, [0xa]],
      [1, [0xb]],
    ]);
  });

  it('makes one Opus frame of each packet', () => {
    const r = assembleFrames([pkt('opus', 60, 0, true, [0x78, 1]), pkt('opus', 61, 960, false, [0x78, 2])]);
    expect(r.frames).toHaveLength(2);
  });
});
