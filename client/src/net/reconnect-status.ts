// What the screen says while the meeting is away from the server: why, which
// attempt, and when the next one is. Pure, so the wording is tested without a page.

/** Why we are reconnecting: the server said it restarts, the connection just dropped, or the media path failed. */
export type ReconnectCause = 'server-restarting' | 'lost' | 'media-failed';

export interface ReconnectStatus {
  cause: ReconnectCause;
  /** 1-based attempt number of the next (or current) try. */
  attempt: number;
  /** When the next try starts (ms since epoch), or undefined while a try is under way. */
  nextTryAt: number | undefined;
}

const CAUSE_TEXT: Record<ReconnectCause, string> = {
  'server-restarting': 'The server is restarting…',
  lost: 'Connection lost…',
  'media-failed': 'Audio and video connection lost…',
};

export function reconnectText(s: ReconnectStatus, now: number): string {
  const head = CAUSE_TEXT[s.cause];
  if (s.nextTryAt === undefined) return `${head} Reconnecting (attempt ${s.attempt})…`;
  const secs = Math.max(0, Math.ceil((s.nextTryAt - now) / 1000));
  return `${head} Reconnecting (attempt ${s.attempt}) in ${secs} s.`;
}
