// Per-sender frame counters the UI shows: decrypted, dropped by reason, last error.

import type { DropReason, ParticipantFrameStats, SendFrameStats } from './worker-protocol.ts';

export class FrameStats {
  private readonly send: SendFrameStats = { encrypted: 0, dropped: {} };
  private readonly recv = new Map<string, ParticipantFrameStats>();
  /** The same counters per receiving transform (one stream), keyed by transform id. */
  private readonly streams = new Map<string, ParticipantFrameStats>();

  constructor(private readonly now: () => number = Date.now) {}

  sent(kid: bigint): void {
    this.send.encrypted++;
    this.send.kid = kid;
    this.send.lastEncryptAt = this.now();
  }

  sendDropped(code: DropReason): void {
    this.send.dropped[code] = (this.send.dropped[code] ?? 0) + 1;
  }

  private entry(map: Map<string, ParticipantFrameStats>, key: string): ParticipantFrameStats {
    let e = map.get(key);
    if (!e) {
      e = { participantId: key, decrypted: 0, dropped: {} };
      map.set(key, e);
    }
    return e;
  }

  /** Per frame: no arrays or closures, just the one or two counters. */
  decrypted(participantId: string, kid: bigint, streamId?: string): void {
    const now = this.now();
    countDecrypted(this.entry(this.recv, participantId), kid, now);
    if (streamId) countDecrypted(this.entry(this.streams, streamId), kid, now);
  }

  received(participantId: string, code: DropReason, streamId?: string): void {
    const now = this.now();
    for (const e of [this.entry(this.recv, participantId), ...(streamId ? [this.entry(this.streams, streamId)] : [])]) {
      e.dropped[code] = (e.dropped[code] ?? 0) + 1;
      e.lastError = { code, at: now };
    }
  }

  snapshot(): { send: SendFrameStats; receive: ParticipantFrameStats[]; streams: ParticipantFrameStats[] } {
    const copy = (e: ParticipantFrameStats): ParticipantFrameStats => ({ ...e, dropped: { ...e.dropped } });
    return {
      send: { ...this.send, dropped: { ...this.send.dropped } },
      receive: [...this.recv.values()].map(copy),
      streams: [...this.streams.values()].map(copy),
    };
  }
}

function countDecrypted(e: ParticipantFrameStats, kid: bigint, now: number): void {
  e.decrypted++;
  e.lastKid = kid;
  e.lastDecryptAt = now;
}
