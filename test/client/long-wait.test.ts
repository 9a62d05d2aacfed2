// A key that does not come says so on screen (client/src/e2ee/long-wait.ts).

import { describe, expect, it } from 'vitest';
import { LONG_WAIT_MS, longWaitNote } from '../../client/src/e2ee/long-wait.ts';

describe('the note after a long wait for a key', () => {
  it('says nothing during a normal join, then that no key came and what it means', () => {
    const after = LONG_WAIT_MS['waiting-for-key']!;
    expect(longWaitNote('waiting-for-key', 1000, 1000 + after - 1)).toBeUndefined();
    const note = longWaitNote('waiting-for-key', 1000, 1000 + after + 2500);
    expect(note).toMatch(/^No meeting key after 17 s: your audio and video are not sent\./);
    expect(note).toMatch(/server may be holding back/);
  });

  it('tells a member stopped for a rotation that the new key has not come', () => {
    const after = LONG_WAIT_MS.rekeying!;
    expect(longWaitNote('rekeying', 0, after - 1)).toBeUndefined();
    expect(longWaitNote('rekeying', 0, after)).toMatch(/^The new meeting key has not come for 10 s/);
  });

  it('says nothing in states that are not a wait for a key', () => {
    for (const state of ['ok', 'lobby', 'denied', 'removed'] as const) expect(longWaitNote(state, 0, 3_600_000)).toBeUndefined();
  });
});
