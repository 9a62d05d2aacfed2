// A key that does not come says so on screen. The agent keeps asking (a
// newcomer announces itself every 2 s, a stopped member asks for a resend
// every 2 s), so a short wait is normal: a join or a rotation takes a second
// or two. Past these thresholds the person is told what it means and what
// they can do, instead of a "Waiting…" that never changes: the server cannot
// read the key exchange, but it can hold it back, or run silent participants
// of its own ahead of a newcomer (docs/threat-model.md).

import type { AgentState } from '../../../shared/e2ee/index.ts';

/** How long each waiting state lasts before the note shows (ms). */
export const LONG_WAIT_MS: Partial<Record<AgentState, number>> = {
  'waiting-for-key': 15_000,
  rekeying: 10_000,
};

/** What the page shows after a long wait in `state` (entered at `since`), or nothing yet. */
export function longWaitNote(state: AgentState, since: number, now: number): string | undefined {
  const after = LONG_WAIT_MS[state];
  if (after === undefined || now - since < after) return undefined;
  const seconds = Math.floor((now - since) / 1000);
  if (state === 'waiting-for-key') {
    return (
      `No meeting key after ${seconds} s: your audio and video are not sent. ` +
      'Someone already in the meeting with this link has to hand it to you. If people are there, the server may be ' +
      'holding back their messages; leaving and opening the link again starts over.'
    );
  }
  return (
    `The new meeting key has not come for ${seconds} s: your audio and video are not sent. ` +
    'It is asked for again every 2 s. If this lasts, the server may be holding back the leader’s messages.'
  );
}
