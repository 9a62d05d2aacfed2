// When a participant's media stops decrypting, the user gets one alert naming
// them, not only a red badge: a silent black tile is the complaint users of
// E2EE products make most. Pure: the controller feeds it what each stats tick
// shows and turns its answers into alerts.

/** What one stats tick shows of a remote participant. */
export interface DecryptObservation {
  participantId: string;
  /** The tile says failing (tileStatus): drops and nothing decrypting for a while. */
  failing: boolean;
  /** Why, as the tile says it (e.g. "auth failed"). */
  reason: string;
  /** The last time any of its streams decrypted a frame (worker clock, ms). */
  lastDecryptAt: number | undefined;
}

export type DecryptAlert = { kind: 'failing'; participantId: string; reason: string } | { kind: 'recovered'; participantId: string };

/**
 * One alert per episode. An episode opens when a participant's tile turns
 * failing and closes only once a frame of theirs decrypted after it opened:
 * a tile that merely stops failing (camera turned off, no frames at all) has
 * not recovered, and is not announced as such. A participant no longer
 * observed (left the roster) closes its episode silently.
 */
/**
 * Frames under a key we do not hold yet ("unknown kid") are normal for a
 * moment after a join or a rotation, while the key is on its way: only a
 * failure that lasts this long opens an episode. Others (auth failed) open at once.
 */
export const KEY_ON_ITS_WAY_MS = 3000;

export class DecryptEpisodes {
  private readonly open = new Map<string, number>();
  /** Failing with an unknown key since (not alerted yet). */
  private readonly waiting = new Map<string, number>();

  step(observations: readonly DecryptObservation[], now: number): DecryptAlert[] {
    const out: DecryptAlert[] = [];
    const seen = new Set<string>();
    for (const o of observations) {
      seen.add(o.participantId);
      const since = this.open.get(o.participantId);
      if (since === undefined) {
        if (!o.failing || o.reason !== 'unknown kid') this.waiting.delete(o.participantId);
        else if (!this.waiting.has(o.participantId)) this.waiting.set(o.participantId, now);
        const waitingSince = this.waiting.get(o.participantId);
        if (o.failing && (waitingSince === undefined || now - waitingSince >= KEY_ON_ITS_WAY_MS)) {
          this.waiting.delete(o.participantId);
          this.open.set(o.participantId, now);
          out.push({ kind: 'failing', participantId: o.participantId, reason: o.reason });
        }
      } else if (!o.failing && o.lastDecryptAt !== undefined && o.lastDecryptAt > since) {
        this.open.delete(o.participantId);
        out.push({ kind: 'recovered', participantId: o.participantId });
      }
    }
    for (const id of [...this.open.keys()]) if (!seen.has(id)) this.open.delete(id);
    for (const id of [...this.waiting.keys()]) if (!seen.has(id)) this.waiting.delete(id);
    return out;
  }

  /** Participants with an open episode (shown nowhere else; for tests and the UI). */
  failing(): string[] {
    return [...this.open.keys()];
  }
}

/** The alert's words; `name` is the verified roster name, never the server's. */
export function decryptAlertText(a: DecryptAlert, name: string): { level: 'error' | 'info'; text: string } {
  if (a.kind === 'recovered') return { level: 'info', text: `${name}'s audio and video decrypt again.` };
  return {
    level: 'error',
    text:
      `Cannot decrypt ${name}'s audio and video (${a.reason}): their tile stays blank. ` +
      'If it does not clear, compare the security code with them or ask them to rejoin.',
  };
}
