import { describe, expect, it } from 'vitest';
import { reconnectText } from '../../client/src/net/reconnect-status.ts';
import { RECONNECT_POLICY, backoffCeiling, backoffDelay, type BackoffPolicy } from '../../client/src/net/backoff.ts';

const policy: BackoffPolicy = { baseMs: 500, capMs: 10_000, maxAttempts: 40 };

describe('reconnect back-off', () => {
  it('doubles the ceiling per attempt up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffCeiling(a, policy))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(backoffCeiling(5000, policy)).toBe(10_000);
  });

  it('waits a uniformly random part of the ceiling (full jitter)', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(2000);
    expect(backoffDelay(3, policy, () => 0.999999)).toBe(3999);
  });

  it('spreads clients that lost the server at the same moment', () => {
    let seed = 7;
    const rng = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const waits = Array.from({ length: 200 }, () => backoffDelay(4, policy, rng));
    expect(new Set(waits).size).toBeGreaterThan(150);
    expect(Math.min(...waits)).toBeLessThan(1000);
    expect(Math.max(...waits)).toBeGreaterThan(7000);
    expect(waits.every((w) => w >= 0 && w < 8000)).toBe(true);
  });

  it('treats a nonsense attempt or random value as the first attempt / clamps it', () => {
    expect(backoffCeiling(-1, policy)).toBe(500);
    expect(backoffCeiling(Number.NaN, policy)).toBe(500);
    expect(backoffDelay(0, policy, () => 7)).toBe(500);
    expect(backoffDelay(0, policy, () => -1)).toBe(0);
  });

  it('tries again within half a second first, and for minutes in all', () => {
    expect(backoffCeiling(0, RECONNECT_POLICY)).toBeLessThanOrEqual(500);
    let total = 0;
    for (let a = 0; a < RECONNECT_POLICY.maxAttempts; a++) total += backoffCeiling(a, RECONNECT_POLICY) / 2;
    expect(total).toBeGreaterThan(120_000);
  });
});

describe('reconnect status text', () => {
  it('says why, which attempt, and when the next try is', () => {
    expect(reconnectText({ cause: 'server-restarting', attempt: 2, nextTryAt: 10_400 }, 7_000)).toBe(
      'The server is restarting… Reconnecting (attempt 2) in 4 s.',
    );
    expect(reconnectText({ cause: 'lost', attempt: 1, nextTryAt: undefined }, 0)).toBe('Connection lost… Reconnecting (attempt 1)…');
    expect(reconnectText({ cause: 'lost', attempt: 3, nextTryAt: 5 }, 10)).toBe('Connection lost… Reconnecting (attempt 3) in 0 s.');
  });
});
