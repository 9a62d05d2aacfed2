// replay: re-delivers old key-exchange messages after a rotation. The server
// records every roster, key message, commit and ack it relays, by epoch. When
// it relays the commit of epoch E, it follows it with the newest earlier epoch
// it recorded: that epoch's roster, key message and commit go again to every
// participant (as their original sender), and its acks go again to the leader
// they were sent to. Members must refuse all of it as stale (STALE_EPOCH)
// without changing their state: same epoch, same roster, same security code.

import { epochOf, peek, typeOf, type AttackFactory, type Delivery, RoomState } from './common.ts';

interface Recorded {
  from: string;
  to: string | null;
  payload: string;
}

interface EpochRecord {
  roster?: Recorded;
  keys?: Recorded;
  commit?: Recorded;
  acks: Recorded[];
}

interface ReplayState {
  epochs: Map<number, EpochRecord>;
  /** Epochs whose commit already triggered a replay. */
  replayedAfter: Set<number>;
}

export const replayAttack: AttackFactory = (_ctx, stats) => {
  const rooms = new RoomState<ReplayState>(() => ({ epochs: new Map(), replayedAfter: new Set() }));
  return {
    stats,
    relayInterceptor: {
      relay(room, from, to, payload) {
        const s = rooms.get(room);
        const msg = peek(payload);
        const t = typeOf(msg);
        const epoch = epochOf(msg);
        const out: Delivery[] = [{ to, payload }];
        if (epoch === undefined || (t !== 'roster' && t !== 'keys' && t !== 'commit' && t !== 'ack')) return out;

        let rec = s.epochs.get(epoch);
        if (!rec) s.epochs.set(epoch, (rec = { acks: [] }));
        const recorded = { from: from.id, to, payload };
        if (t === 'ack') rec.acks.push(recorded);
        else rec[t] ??= recorded;
        if (t !== 'commit' || s.replayedAfter.has(epoch)) return out;
        s.replayedAfter.add(epoch);

        // The newest earlier epoch we saw in full.
        const older = [...s.epochs.entries()]
          .filter(([e, r]) => e < epoch && r.roster && r.keys && r.commit)
          .sort((x, y) => y[0] - x[0])[0];
        if (!older) return out;
        const [oldEpoch, old] = older;
        for (const kind of ['roster', 'keys', 'commit'] as const) {
          const m = old[kind]!;
          for (const id of room.participants.keys()) {
            if (id === m.from) continue; // a client rejects its own messages outright; that is not the replay check
            out.push({ to: id, payload: m.payload, as: m.from });
            stats.bump('replayed');
            stats.bump(`replayed-${kind}`);
            stats.to(id, kind);
          }
        }
        for (const a of old.acks) {
          if (a.to === null || !room.participants.has(a.to)) continue;
          out.push({ to: a.to, payload: a.payload, as: a.from });
          stats.bump('replayed');
          stats.bump('replayed-ack');
          stats.to(a.to, 'ack');
        }
        stats.note(
          `after the epoch ${epoch} commit, replayed epoch ${oldEpoch}'s roster, key message, commit and ${old.acks.length} ack(s)`,
        );
        return out;
      },
    },
  };
};
