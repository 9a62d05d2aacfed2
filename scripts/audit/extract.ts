// From captured packets to frames, for one producer: RTP parse, payload type
// filter, payload descriptor, reassembly. Pure.

import { assembleFrames, type AssembledFrame, type FramePacket } from './frames.ts';
import { parsePayload, type PayloadCodec } from './payload.ts';
import { parseRtp, SequenceUnwrapper } from './rtp.ts';
import type { CapturedPacket } from './tap-reader.ts';

/** What became of one producer's captured packets (summary.json reports these as `capture`). */
export interface PacketCounts {
  /** Records in the pcap. */
  readonly packets: number;
  readonly bytes: number;
  /** Packets with the producer's payload type, parsed and carrying payload. */
  readonly mediaPackets: number;
  /** Other payload types (RTX retransmissions and the like): skipped. */
  readonly otherPayloadType: number;
  /** Padding-only packets (bandwidth probes): skipped. */
  readonly paddingOnly: number;
  readonly malformed: Record<string, number>;
  readonly duplicatePackets: number;
}

export interface Extraction extends PacketCounts {
  readonly frames: AssembledFrame[];
  readonly incomplete: number;
}

export function extractFrames(codec: PayloadCodec, payloadType: number, captured: readonly CapturedPacket[]): Extraction {
  const malformed: Record<string, number> = {};
  const bump = (code: string) => (malformed[code] = (malformed[code] ?? 0) + 1);
  const unwrapper = new SequenceUnwrapper();
  const packets: FramePacket[] = [];
  let otherPayloadType = 0;
  let paddingOnly = 0;
  let bytes = 0;
  captured.forEach((c, arrival) => {
    bytes += c.data.length;
    const rtp = parseRtp(c.data);
    if (!rtp.ok) return void bump(rtp.code);
    const p = rtp.value;
    if (p.payloadType !== payloadType) return void otherPayloadType++;
    const seq = unwrapper.unwrap(p.sequenceNumber);
    if (p.payload.length === 0) return void paddingOnly++;
    const unit = parsePayload(codec, p.payload);
    if (!unit.ok) return void bump(unit.code);
    packets.push({ seq, timestamp: p.timestamp, marker: p.marker, arrival, timeMs: c.timeMs, unit: unit.value });
  });
  const assembly = assembleFrames(packets);
  return {
    packets: captured.length,
    bytes,
    mediaPackets: packets.length,
    otherPayloadType,
    paddingOnly,
    malformed,
    duplicatePackets: assembly.duplicatePackets,
    frames: assembly.frames,
    incomplete: assembly.incomplete,
  };
}
