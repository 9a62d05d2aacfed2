// From captured packets to frames, for one producer: RTP parse, payload type
// filter, payload descriptor, reassembly. Pure.

import { assembleFrames, type AssembledFrame, type FramePacket } from './frames.ts';
import { parsePayload, type PayloadCodec } from './payload.ts';
import { parseRtp, SequenceUnwrapper } from './rtp.ts';
import type { CapturedPacket } from './tap-reader.ts';

export interface Extraction {
  readonly packets: number;
  readonly bytes: number;
  readonly mediaPackets: number;
  readonly otherPayloadType: number;
  readonly paddingOnly: number;
  readonly malformed: Record<string, number>;
  readonly duplicatePackets: number;
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
