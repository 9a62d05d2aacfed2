// drop-rotation: withholds a new epoch's key message from one participant.
// The victim is the second participant to join a meeting. It gets its first
// key message (so it is a keyed member), and every later one that carries a
// key for it is dropped on its way to the victim; rosters and commits still
// reach it, and so do its resend requests, whose answers are withheld too.
// The victim then sees a commit for an epoch whose key it lacks
// (UNKNOWN_EPOCH) and, within 2 s of learning of the new epoch, stops sending
// (protocol.md §7.5) rather than keep sending under the old key; everyone
// else's media is undecryptable for it: a denial of service that the client
// must show rather than hide.

import { ids, peek, recipients, RoomState, typeOf, epochOf, type AttackFactory, type Delivery, type Json } from './common.ts';

interface DropState {
  victim?: string;
  /** The victim already received a key message with a key for it. */
  victimKeyed: boolean;
}

function hasEntryFor(msg: Json, id: string): boolean {
  const entries = msg['entries'];
  return Array.isArray(entries) && entries.some((e) => typeof e === 'object' && e !== null && (e as Json)['to'] === id);
}

export const dropRotationAttack: AttackFactory = (_ctx, stats) => {
  const rooms = new RoomState<DropState>(() => ({ victimKeyed: false }));
  return {
    stats,
    relayInterceptor: {
      relay(room, from, to, payload) {
        const s = rooms.get(room);
        if (!s.victim) {
          s.victim = ids(room)[1];
          if (s.victim) stats.roles[`victim:${room.meetingId}`] = s.victim;
        }
        const msg = peek(payload);
        if (!s.victim || typeOf(msg) !== 'keys' || !msg || !hasEntryFor(msg, s.victim)) return [{ to, payload }];
        const out: Delivery[] = [];
        for (const id of recipients(room, from, to)) {
          if (id === s.victim && s.victimKeyed) {
            stats.bump('withheld');
            stats.to(id, 'keys-withheld');
            stats.note(`withheld the epoch ${epochOf(msg) ?? '?'} key message from ${id}`);
            continue;
          }
          if (id === s.victim) {
            s.victimKeyed = true;
            stats.note(`delivered the victim's first key message (epoch ${epochOf(msg) ?? '?'}) to ${id}`);
          }
          out.push({ to: id, payload });
        }
        return out;
      },
    },
  };
};
