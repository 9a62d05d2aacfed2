// What the header says about our own encryption (client/src/e2ee/shown-state.ts):
// "encrypted" needs the frame worker's confirmation, never only the agent's word.

import { describe, expect, it } from 'vitest';
import { shownE2eeState, type OwnEncryption } from '../../client/src/e2ee/shown-state.ts';

const NOW = 1_000_000;

/** A member whose worker confirmed epoch 3 a while ago and encrypts frames right now. */
function sending(over: Partial<OwnEncryption> = {}): OwnEncryption {
  return {
    agentState: 'ok',
    phase: 'joined',
    confirmedEpoch: 3,
    confirmedAt: NOW - 10_000,
    sendKeyFailure: undefined,
    send: { encrypted: 500, dropped: {}, lastEncryptAt: NOW - 20 },
    now: NOW,
    ...over,
  };
}

describe('the E2EE state the header shows', () => {
  it('says ok while the worker sends under a confirmed epoch', () => {
    expect(shownE2eeState(sending())).toBe('ok');
  });

  it('says failing once the worker refused the send key, whatever the agent thinks', () => {
    expect(
      shownE2eeState(sending({ sendKeyFailure: { epoch: 4, code: 'KID_CONFLICT', message: 'KID 262144 is a receive key here' } })),
    ).toBe('failing');
  });

  it('waits while the agent committed an epoch the worker has not confirmed yet', () => {
    expect(shownE2eeState(sending({ confirmedEpoch: 0 }))).toBe('waiting-for-key');
  });

  it('waits while reconnecting: the old instance keys are going away', () => {
    expect(shownE2eeState(sending({ phase: 'reconnecting' }))).toBe('waiting-for-key');
  });

  it('says failing while our frames are dropped and none got out for 1.5 s', () => {
    const send = {
      encrypted: 500,
      dropped: { NO_KEY: 80 },
      lastError: { code: 'NO_KEY' as const, at: NOW - 20 },
      lastEncryptAt: NOW - 2000,
    };
    expect(shownE2eeState(sending({ send }))).toBe('failing');
  });

  it('ignores drops from before the key was confirmed, and a single glitch among frames that get out', () => {
    const before = { encrypted: 0, dropped: { NO_KEY: 40 }, lastError: { code: 'NO_KEY' as const, at: NOW - 300 } };
    expect(shownE2eeState(sending({ confirmedAt: NOW - 100, send: before }))).toBe('ok');
    const glitch = {
      encrypted: 500,
      dropped: { MALFORMED: 1 },
      lastError: { code: 'MALFORMED' as const, at: NOW - 50 },
      lastEncryptAt: NOW - 20,
    };
    expect(shownE2eeState(sending({ send: glitch }))).toBe('ok');
  });

  it("shows the agent's own state when it is not ok", () => {
    expect(shownE2eeState(sending({ agentState: 'removed' }))).toBe('removed');
    expect(
      shownE2eeState(sending({ agentState: 'waiting-for-key', sendKeyFailure: { epoch: 1, code: 'KID_CONFLICT', message: '' } })),
    ).toBe('waiting-for-key');
  });
});
