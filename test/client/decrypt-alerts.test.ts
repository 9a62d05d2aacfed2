// One alert per episode of a participant whose media does not decrypt
// (client/src/e2ee/decrypt-alerts.ts), and one when it decrypts again.

import { describe, expect, it } from 'vitest';
import { DecryptEpisodes, KEY_ON_ITS_WAY_MS, decryptAlertText, type DecryptObservation } from '../../client/src/e2ee/decrypt-alerts.ts';

const obs = (participantId: string, failing: boolean, lastDecryptAt?: number): DecryptObservation => ({
  participantId,
  failing,
  reason: failing ? 'auth failed' : '',
  lastDecryptAt,
});

describe('decrypt failure episodes', () => {
  it('does not alert for frames under a key still on its way (a join or a rotation), only once that lasts', () => {
    const e = new DecryptEpisodes();
    const unknown = (failing: boolean): DecryptObservation => ({
      participantId: 'a',
      failing,
      reason: failing ? 'unknown kid' : '',
      lastDecryptAt: undefined,
    });
    expect(e.step([unknown(true)], 1000)).toEqual([]);
    expect(e.step([unknown(true)], 1000 + KEY_ON_ITS_WAY_MS - 1)).toEqual([]);
    // The key came: no alert, and the wait starts over next time.
    expect(e.step([unknown(false)], 1000 + KEY_ON_ITS_WAY_MS)).toEqual([]);
    expect(e.step([unknown(true)], 5000)).toEqual([]);
    expect(e.step([unknown(true)], 5000 + KEY_ON_ITS_WAY_MS)).toEqual([{ kind: 'failing', participantId: 'a', reason: 'unknown kid' }]);
  });

  it('alerts once when a participant starts failing, however many ticks it keeps failing', () => {
    const e = new DecryptEpisodes();
    expect(e.step([obs('a', false, 50)], 100)).toEqual([]);
    expect(e.step([obs('a', true, 50)], 200)).toEqual([{ kind: 'failing', participantId: 'a', reason: 'auth failed' }]);
    for (let t = 300; t < 5000; t += 500) expect(e.step([obs('a', true, 50)], t)).toEqual([]);
    expect(e.failing()).toEqual(['a']);
  });

  it('announces recovery only once a frame decrypted after the episode began', () => {
    const e = new DecryptEpisodes();
    e.step([obs('a', true, 50)], 1000);
    // Not failing any more, but nothing decrypted since (e.g. the camera went off): not recovered.
    expect(e.step([obs('a', false, 50)], 1500)).toEqual([]);
    expect(e.step([obs('a', false, 1600)], 2000)).toEqual([{ kind: 'recovered', participantId: 'a' }]);
    expect(e.failing()).toEqual([]);
    // A new episode alerts again.
    expect(e.step([obs('a', true, 1600)], 9000)).toHaveLength(1);
  });

  it('keeps participants apart and closes the episode of one who left silently', () => {
    const e = new DecryptEpisodes();
    expect(e.step([obs('a', true), obs('b', false, 10)], 100)).toEqual([{ kind: 'failing', participantId: 'a', reason: 'auth failed' }]);
    expect(e.step([obs('b', true, 10)], 200)).toEqual([{ kind: 'failing', participantId: 'b', reason: 'auth failed' }]);
    expect(e.failing()).toEqual(['b']);
  });

  it('names the participant with the name it is given, and says what to do', () => {
    const failing = decryptAlertText({ kind: 'failing', participantId: 'x', reason: 'auth failed' }, 'Alice');
    expect(failing.level).toBe('error');
    expect(failing.text).toContain("Alice's");
    expect(failing.text).toContain('auth failed');
    expect(failing.text).toContain('security code');
    expect(decryptAlertText({ kind: 'recovered', participantId: 'x' }, 'Alice')).toEqual({
      level: 'info',
      text: "Alice's audio and video decrypt again.",
    });
  });
});
