// Network quality of a participant's streams as we receive them, from
// getStats: packet loss, jitter, the round trip to the server, bitrate.
// Pure: the call monitor collects the samples, this computes and classifies.

/** Cumulative counters of one inbound stream (inbound-rtp), at one time. */
export interface InboundSample {
  /** ms */
  at: number;
  packetsReceived: number;
  packetsLost: number;
  bytesReceived: number;
  /** seconds, as getStats reports it */
  jitter?: number;
}

export interface NetFigures {
  lossPct: number;
  jitterMs?: number;
  rttMs?: number;
  kbps: number;
}

export type NetLevel = 'good' | 'fair' | 'poor' | 'unknown';

/**
 * Loss and bitrate between two samples of the same streams (matched by key),
 * summed over the participant's streams; undefined without a common stream or
 * packets in between (nothing to judge: a paused camera, a muted mic).
 */
export function figuresBetween(
  prev: ReadonlyMap<string, InboundSample>,
  cur: ReadonlyMap<string, InboundSample>,
  rttMs: number | undefined,
): NetFigures | undefined {
  let received = 0;
  let lost = 0;
  let bytes = 0;
  let seconds = 0;
  let jitter: number | undefined;
  for (const [key, c] of cur) {
    const p = prev.get(key);
    if (!p || c.at <= p.at) continue;
    // Counters restart with a new stream: a negative delta is not a measurement.
    const dr = c.packetsReceived - p.packetsReceived;
    const dl = Math.max(0, c.packetsLost - p.packetsLost);
    if (dr < 0) continue;
    received += dr;
    lost += dl;
    bytes += Math.max(0, c.bytesReceived - p.bytesReceived);
    seconds = Math.max(seconds, (c.at - p.at) / 1000);
    if (c.jitter !== undefined) jitter = Math.max(jitter ?? 0, c.jitter * 1000);
  }
  if (received + lost === 0 || seconds === 0) return undefined;
  return { lossPct: (100 * lost) / (received + lost), jitterMs: jitter, rttMs, kbps: (bytes * 8) / 1000 / seconds };
}

/** Loss hurts first (frozen video, robotic audio), then delay and its variation. */
export function classifyNetwork(f: NetFigures | undefined): NetLevel {
  if (!f) return 'unknown';
  const rtt = f.rttMs ?? 0;
  const jitter = f.jitterMs ?? 0;
  if (f.lossPct >= 10 || rtt >= 500 || jitter >= 100) return 'poor';
  if (f.lossPct >= 3 || rtt >= 250 || jitter >= 40) return 'fair';
  return 'good';
}

/** The tooltip: the figures behind the level. */
export function describeNetwork(level: NetLevel, f: NetFigures | undefined): string {
  if (!f) return 'Network: no media received to measure';
  const parts = [`loss ${f.lossPct.toFixed(1)} %`];
  if (f.jitterMs !== undefined) parts.push(`jitter ${Math.round(f.jitterMs)} ms`);
  if (f.rttMs !== undefined) parts.push(`round trip to server ${Math.round(f.rttMs)} ms`);
  parts.push(`${Math.round(f.kbps)} kbit/s`);
  return `Network ${level}: ${parts.join(' · ')}`;
}
