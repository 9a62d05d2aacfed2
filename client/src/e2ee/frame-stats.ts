// Per-sender frame counters the UI shows: decrypted, dropped by reason, last error.

import type { DropReason, ParticipantFrameStats, SendFrameStats } from './worker-protocol.ts';

export class FrameStats {
  private readonly send: SendFrameStats = { encrypted: 0, dropped: {} };
  private readonly recv = new Map<string, ParticipantFrameStats>();

  constructor(private readonly now: () => number = Date.now) {}

  sent(kid: bigint): void {
    this.send.encrypted++;
    this.send.kid = kid;
    this.send.lastEncryptAt = this.now();
  }

  sendDropped(code: DropReason): void {
    this.send.dropped[code] = (this.send.dropped[code] ?? 0) + 1;
  }

  private entry(participantId: string): ParticipantFrameStats {
    let e = this.recv.get(participantId);
    if (!e) {
      e = { participantId, decrypted: 0, dropped: {} };
      this.recv.set(participantId, e);
    }
    return e;
  }

  decrypted(participantId: string, kid: bigint): void {
    const e = this.entry(participantId);
    e.decrypted++;
    e.lastKid = kid;
    e.lastDecryptAt = this.now();
  }

  received(participantId: string, code: DropReason): void {
    const e = this.entry(participantId);
    e.dropped[code] = (e.dropped[code] ?? 0) + 1;
    e.lastError = { code, at: this.now() };
  }

  snapshot(): { send: SendFrameStats; receive: ParticipantFrameStats[] } {
    return {
      send: { ...this.send, dropped: { ...this.send.dropped } },
      receive: [...this.recv.values()].map((e) => ({ ...e, dropped: { ...e.dropped } })),
    };
  }
}
