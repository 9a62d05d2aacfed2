// Frame reassembly from the RTP packets of one producer.
//
// Packets are deduplicated by sequence number and put in sequence order (the
// sender's order, whatever the arrival order). A frame is a run of packets
// with one timestamp (and one spatial layer) that begins with a start packet
// and has no sequence gap; it ends at an end flag or marker bit, or, where the
// format allows, where the next packet in sequence carries a new timestamp.
// Anything else is counted as incomplete and left out of the analysis: a
// partial frame would make every later check (SFrame parse, decode) noisy.

import type { PayloadUnit } from './payload.ts';

export interface FramePacket {
  /** Unwrapped sequence number. */
  readonly seq: number;
  readonly timestamp: number;
  readonly marker: boolean;
  /** Position in the capture (arrival order). */
  readonly arrival: number;
  readonly timeMs: number;
  readonly unit: PayloadUnit;
}

export interface AssembledFrame {
  /** Position among this producer's complete frames, in sequence order. */
  readonly index: number;
  readonly timestamp: number;
  readonly layer: number;
  readonly firstSeq: number;
  /** Arrival position of the frame's first packet in the capture. */
  readonly arrival: number;
  readonly timeMs: number;
  readonly packets: number;
  /** From the payload descriptor where the format has one (VP9). */
  readonly keyframeHint?: boolean;
  readonly data: Uint8Array;
}

export interface Assembly {
  readonly frames: AssembledFrame[];
  readonly incomplete: number;
  readonly duplicatePackets: number;
}

interface Open {
  readonly packets: FramePacket[];
  readonly startOk: boolean;
  ended: boolean;
}

export function assembleFrames(packets: readonly FramePacket[]): Assembly {
  const bySeq = new Map<number, FramePacket>();
  let duplicatePackets = 0;
  for (const p of packets) {
    if (bySeq.has(p.seq)) duplicatePackets++;
    else bySeq.set(p.seq, p);
  }
  const ordered = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const frames: AssembledFrame[] = [];
  let incomplete = 0;
  let cur: Open | undefined;
  // A frame broken by a gap falls apart into several runs: count it once.
  let lastIncomplete: string | undefined;

  const close = (o: Open, implicitEnd: boolean): void => {
    const last = o.packets[o.packets.length - 1]!;
    const ended = o.ended || (implicitEnd && last.unit.end === undefined);
    if (!o.startOk || !ended) {
      const id = `${o.packets[0]!.timestamp}:${o.packets[0]!.unit.layer}`;
      if (id !== lastIncomplete) incomplete++;
      lastIncomplete = id;
      return;
    }
    const first = o.packets[0]!;
    const size = o.packets.reduce((n, p) => n + p.unit.data.length, 0);
    const data = new Uint8Array(size);
    let at = 0;
    for (const p of o.packets) {
      data.set(p.unit.data, at);
      at += p.unit.data.length;
    }
    frames.push({
      index: frames.length,
      timestamp: first.timestamp,
      layer: first.unit.layer,
      firstSeq: first.seq,
      arrival: Math.min(...o.packets.map((p) => p.arrival)),
      timeMs: first.timeMs,
      packets: o.packets.length,
      ...(first.unit.keyframeHint !== undefined ? { keyframeHint: first.unit.keyframeHint } : {}),
      data,
    });
  };

  for (const p of ordered) {
    if (cur) {
      const last = cur.packets[cur.packets.length - 1]!;
      const contiguous = p.seq === last.seq + 1;
      const sameFrame = contiguous && !cur.ended && p.timestamp === last.timestamp && p.unit.layer === last.unit.layer && !p.unit.start;
      if (sameFrame) {
        cur.packets.push(p);
      } else {
        // A new timestamp right after the last packet ends a marker-less frame.
        close(cur, contiguous && p.timestamp !== last.timestamp);
        cur = undefined;
      }
    }
    if (!cur) cur = { packets: [p], startOk: p.unit.start, ended: false };
    if (p.unit.end === true || (p.unit.end === undefined && p.marker)) cur.ended = true;
    if (cur.ended) {
      close(cur, false);
      cur = undefined;
    }
  }
  if (cur) close(cur, false);
  return { frames, incomplete, duplicatePackets };
}
