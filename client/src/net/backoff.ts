// The reconnect schedule: exponential back-off with full jitter (each wait is
// uniform in [0, min(cap, base·2^attempt)]), so a server that comes back is
// not hit by every client at the same instant. Pure: the random source is
// passed in, so tests can pin it.

export interface BackoffPolicy {
  /** Upper bound of the first wait, in ms. */
  readonly baseMs: number;
  /** No wait is ever longer than this, in ms. */
  readonly capMs: number;
  /** Attempts before giving up (the screen then offers a manual rejoin). */
  readonly maxAttempts: number;
}

/**
 * First retry within ~0.5 s (a dropped socket to a live server is back in
 * well under the 3 s the issue asks for); later ones spread up to 10 s; about
 * five minutes of trying in all before the meeting gives up.
 */
export const RECONNECT_POLICY: BackoffPolicy = { baseMs: 500, capMs: 10_000, maxAttempts: 40 };

/** The upper bound of the wait before retry `attempt` (0-based). */
export function backoffCeiling(attempt: number, policy: BackoffPolicy): number {
  if (!Number.isFinite(attempt) || attempt < 0) return policy.baseMs;
  // 2^attempt overflows to Infinity for large attempts; min() then takes the cap.
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.floor(attempt));
}

/** The wait before retry `attempt`: full jitter, `random` in [0, 1). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * backoffCeiling(attempt, policy));
}
