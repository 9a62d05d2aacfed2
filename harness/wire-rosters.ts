// Rosters as an observer of the wire sees them: full ones as sent, deltas
// rebuilt from the roster they follow (by hash), as a member does. For tests
// that read recorded traffic (an insider's recording, the invariants' view)
// and for the adversary's impostor, which follows the rosters it relays.

import { toBase64Url } from '../shared/e2ee/encoding.ts';
import { applyRosterDelta } from '../shared/e2ee/roster-delta.ts';
import { rosterHash, type VerifiedRoster } from '../shared/e2ee/roster.ts';
import type { WireMessage } from '../shared/e2ee/wire.ts';

export class WireRosters {
  private readonly byHash = new Map<string, VerifiedRoster>();

  /** Reads one message: the roster it carries or rebuilds to (undefined for other types, or a delta whose base we never saw). */
  add(m: WireMessage): VerifiedRoster | undefined {
    let v: VerifiedRoster | undefined;
    if (m.type === 'roster') v = { roster: m.roster, hash: rosterHash(m.roster) };
    if (m.type === 'delta') {
      const base = this.byHash.get(toBase64Url(m.delta.prevHash));
      const rebuilt = base && applyRosterDelta(base, m.delta);
      if (rebuilt?.ok) v = { roster: rebuilt.value, hash: m.delta.hash };
    }
    if (v) this.byHash.set(toBase64Url(v.hash), v);
    return v;
  }
}
