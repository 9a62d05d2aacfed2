// Frame counters the UI shows: encrypted and dropped on the send side;
// decrypted, dropped by reason and the last error per sender and per stream.

import type { DropReason, ReceiveCounters, SendFrameStats, StatsSnapshot } from './protocol.ts';

export class FrameStats {
  private readonly send: SendFrameStats = { encrypted: 0, dropped: {} };
  /** Per remote sender, keyed by participant id. */
  private readonly senders = new Map<string, ReceiveCounters>();
  /** The same counters per receiving transform (one stream), keyed by transform id. */
  private readonly streams = new Map<string, ReceiveCounters>();

  constructor(private readonly now: () => number = Date.now) {}

  encrypted(kid: bigint): void {
    this.send.encrypted++;
    this.send.kid = kid;
    this.send.lastEncryptAt = this.now();
  }

  encryptDropped(code: DropReason): void {
    this.send.dropped[code] = (this.send.dropped[code] ?? 0) + 1;
    this.send.lastError = { code, at: this.now() };
  }

  /** Per frame: no arrays or closures, just the one or two counters. */
  decrypted(participantId: string, kid: bigint, transformId?: string): void {
    const now = this.now();
    countDecrypted(entry(this.senders, participantId), kid, now);
    if (transformId) countDecrypted(entry(this.streams, transformId), kid, now);
  }

  decryptDropped(participantId: string, code: DropReason, transformId?: string): void {
    const now = this.now();
    countDropped(entry(this.senders, participantId), code, now);
    if (transformId) countDropped(entry(this.streams, transformId), code, now);
  }

  snapshot(): StatsSnapshot {
    const copy = (e: ReceiveCounters): ReceiveCounters => ({ ...e, dropped: { ...e.dropped } });
    return {
      send: { ...this.send, dropped: { ...this.send.dropped } },
      receive: [...this.senders].map(([participantId, e]) => ({ participantId, ...copy(e) })),
      streams: [...this.streams].map(([transformId, e]) => ({ transformId, ...copy(e) })),
    };
  }
}

function entry(map: Map<string, ReceiveCounters>, key: string): ReceiveCounters {
  let e = map.get(key);
  if (!e) {
    e = { decrypted: 0, dropped: {} };
    map.set(key, e);
  }
  return e;
}

function countDecrypted(e: ReceiveCounters, kid: bigint, now: number): void {
  e.decrypted++;
  e.lastKid = kid;
  e.lastDecryptAt = now;
}

function countDropped(e: ReceiveCounters, code: DropReason, now: number): void {
  e.dropped[code] = (e.dropped[code] ?? 0) + 1;
  e.lastError = { code, at: now };
}
