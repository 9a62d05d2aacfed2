// Network quality per participant from getStats figures (client/src/media/net-quality.ts).

import { describe, expect, it } from 'vitest';
import { classifyNetwork, describeNetwork, figuresBetween, type InboundSample } from '../../client/src/media/net-quality.ts';

const sample = (at: number, packetsReceived: number, packetsLost: number, bytesReceived: number, jitter?: number): InboundSample => ({
  at,
  packetsReceived,
  packetsLost,
  bytesReceived,
  jitter,
});

describe('network figures between two getStats samples', () => {
  it('computes loss over the interval, bitrate and the worst jitter, summed over the streams', () => {
    const prev = new Map([
      ['video', sample(1000, 1000, 10, 1_000_000)],
      ['audio', sample(1000, 500, 0, 50_000)],
    ]);
    const cur = new Map([
      ['video', sample(3000, 1180, 30, 1_250_000, 0.012)],
      ['audio', sample(3000, 600, 0, 60_000, 0.02)],
    ]);
    const f = figuresBetween(prev, cur, 42)!;
    expect(f.lossPct).toBeCloseTo((100 * 20) / 300, 6);
    expect(f.kbps).toBeCloseTo((260_000 * 8) / 1000 / 2, 6);
    expect(f.jitterMs).toBeCloseTo(20, 6);
    expect(f.rttMs).toBe(42);
  });

  it('has nothing to judge without packets in between or without an earlier sample', () => {
    const s = new Map([['v', sample(1000, 10, 0, 100)]]);
    expect(figuresBetween(s, new Map([['v', sample(2000, 10, 0, 100)]]), undefined)).toBeUndefined();
    expect(figuresBetween(new Map(), s, undefined)).toBeUndefined();
    // A restarted stream (counters went down) is not a measurement.
    expect(figuresBetween(s, new Map([['v', sample(2000, 2, 0, 10)]]), undefined)).toBeUndefined();
  });
});

describe('network classification', () => {
  it('is good on a clean link, fair and poor as loss, round trip or jitter grow', () => {
    expect(classifyNetwork({ lossPct: 0.5, jitterMs: 5, rttMs: 30, kbps: 800 })).toBe('good');
    expect(classifyNetwork({ lossPct: 4, jitterMs: 5, rttMs: 30, kbps: 800 })).toBe('fair');
    expect(classifyNetwork({ lossPct: 0, jitterMs: 5, rttMs: 300, kbps: 800 })).toBe('fair');
    expect(classifyNetwork({ lossPct: 0, jitterMs: 50, kbps: 800 })).toBe('fair');
    expect(classifyNetwork({ lossPct: 12, jitterMs: 5, rttMs: 30, kbps: 800 })).toBe('poor');
    expect(classifyNetwork({ lossPct: 0, rttMs: 600, kbps: 800 })).toBe('poor');
    expect(classifyNetwork({ lossPct: 0, jitterMs: 150, kbps: 800 })).toBe('poor');
    expect(classifyNetwork(undefined)).toBe('unknown');
  });

  it('puts the figures in the tooltip', () => {
    expect(describeNetwork('fair', { lossPct: 4.04, jitterMs: 12.4, rttMs: 30.6, kbps: 812.2 })).toBe(
      'Network fair: loss 4.0 % · jitter 12 ms · round trip to server 31 ms · 812 kbit/s',
    );
    expect(describeNetwork('unknown', undefined)).toBe('Network: no media received to measure');
  });
});
