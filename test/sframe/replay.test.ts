import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW, ReplayWindow } from '../../shared/sframe/index.ts';
import { MAX_U64 } from './fixtures.ts';

describe('replay window', () => {
  it('accepts the first counter, whatever it is', () => {
    const w = new ReplayWindow();
    expect(w.commit(123456789n)).toBe(true);
    expect(w.highest).toBe(123456789n);
  });

  it('rejects a duplicate counter', () => {
    const w = new ReplayWindow();
    expect(w.commit(5n)).toBe(true);
    expect(w.check(5n)).toBe(false);
    expect(w.commit(5n)).toBe(false);
  });

  it('accepts out-of-order counters within the window, each once', () => {
    const w = new ReplayWindow();
    for (const c of [10n, 14n, 11n, 13n, 12n]) expect(w.commit(c)).toBe(true);
    for (const c of [10n, 11n, 12n, 13n, 14n]) expect(w.commit(c)).toBe(false);
  });

  it('accepts exactly 1024 behind the highest and rejects 1025 behind', () => {
    expect(REPLAY_WINDOW).toBe(1024);
    const w = new ReplayWindow();
    w.commit(5000n);
    expect(w.commit(5000n - 1024n)).toBe(true);
    expect(w.commit(5000n - 1025n)).toBe(false);
    expect(w.commit(0n)).toBe(false);
  });

  it('forgets nothing inside the window while the top moves forward in small steps', () => {
    const w = new ReplayWindow();
    for (let c = 0n; c < 5000n; c += 3n) expect(w.commit(c)).toBe(true);
    for (let c = 4998n; c >= 4998n - 1024n; c -= 3n) expect(w.commit(c)).toBe(false);
    expect(w.commit(4997n)).toBe(true); // never seen, inside the window
  });

  it('clears stale slots after a large jump', () => {
    const w = new ReplayWindow();
    w.commit(100n);
    w.commit(100n + 2048n); // same ring slot as 100
    expect(w.commit(100n + 2048n - 1000n)).toBe(true);
    w.commit(1_000_000n);
    expect(w.commit(1_000_000n - 2048n + 1n)).toBe(false); // too old
    expect(w.commit(1_000_000n - 1000n)).toBe(true);
  });

  it('works at the top of the 64-bit range', () => {
    const w = new ReplayWindow();
    expect(w.commit(MAX_U64 - 1n)).toBe(true);
    expect(w.commit(MAX_U64)).toBe(true);
    expect(w.commit(MAX_U64 - 1n)).toBe(false);
    expect(w.commit(MAX_U64 - 2n)).toBe(true);
  });
});
