// ghost: the server adds participants that no client runs. Whenever a real
// participant first announces itself, the server tells it (and everyone it has
// not told yet) that two more participants joined, with `participant-joined`
// notices for IDs it made up:
//
//   "Ghost (forged)"  — never produces a valid announcement of its own. Each
//       participant is sent a real participant's announcement relabelled with
//       the ghost's ID (→ BAD_SIGNATURE), and an announcement the server signed
//       for this ghost, relayed as if a real participant sent it
//       (→ SENDER_MISMATCH). It must never be keyed.
//
//   "Ghost (own key)" — a complete server-run participant (impostor.ts): its
//       announcement is signed with a fresh identity key the server holds. If a
//       leader puts it in the roster, the server opens the ghost's key entry
//       (counter `keys-obtained`), acks as the ghost, and decrypts the
//       meeting's audio with the stolen key (`frames-decrypted-by-server`).
//
// Neither ghost sends media, so no tile can show decoded video from it.
//
// The server alone holds no meeting link, so it cannot read which relayed
// payload is an announcement: it takes each participant's first relay for one
// and relabels that sealed payload for the forged ghost. As an insider holding
// the link (insider.ts) it sees the announcements themselves.

import { encodeMessage } from '../../shared/e2ee/wire.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import type { Participant, Room } from '../../server/room.ts';
import { randomId } from '../../server/room.ts';
import { peek, typeOf, RoomState, type AttackFactory, type Delivery, type Json } from './common.ts';
import { Impostor } from './impostor.ts';

const FORGED_NAME = 'Ghost (forged)';
const OWN_KEY_NAME = 'Ghost (own key)';

interface GhostState {
  forged: Impostor;
  own: Impostor;
  /** Participants that were told about the ghosts. */
  told: Set<string>;
  /** Participants whose first announcement we saw. */
  announced: Set<string>;
}

export const ghostAttack: AttackFactory = async (_ctx, stats) => {
  await initCrypto();
  const impostors = new Set<Impostor>();
  const rooms = new RoomState<GhostState>((room: Room) => {
    const s: GhostState = {
      forged: new Impostor(room, randomId(9), stats),
      own: new Impostor(room, randomId(9), stats),
      told: new Set(),
      announced: new Set(),
    };
    impostors.add(s.forged).add(s.own);
    stats.roles[`ghost-forged:${room.meetingId}`] = s.forged.id;
    stats.roles[`ghost-own-key:${room.meetingId}`] = s.own.id;
    return s;
  });

  /** Tells one participant the ghosts joined and hands it their announcements. */
  const tell = (s: GhostState, q: Participant, realAnnouncement: Json | string): void => {
    q.peer.send({ type: 'participant-joined', participantId: s.forged.id, ...{ name: FORGED_NAME } });
    q.peer.send({ type: 'participant-joined', participantId: s.own.id, ...{ name: OWN_KEY_NAME } });
    // The forged ghost "announces" with someone else's keys and signature.
    const relabelled = typeof realAnnouncement === 'string' ? realAnnouncement : JSON.stringify({ ...realAnnouncement, id: s.forged.id });
    q.peer.send({ type: 'relay', from: s.forged.id, payload: relabelled });
    stats.to(q.id, 'forged-announcement');
    // The own-key ghost announces like any client would.
    q.peer.send({
      type: 'relay',
      from: s.own.id,
      payload: encodeMessage({ type: 'announce', announcement: s.own.announcement({ name: OWN_KEY_NAME }) }),
    });
    stats.to(q.id, 'own-key-announcement');
    stats.bump('ghosts-announced', 2);
    s.told.add(q.id);
  };

  return {
    stats,
    roomObserver: {
      producerCreated(room) {
        const s = rooms.peek(room);
        if (s) void s.own.spy.watchAudio();
      },
      roomClosed(room) {
        const s = rooms.peek(room);
        for (const i of s ? [s.forged, s.own] : []) {
          i.close();
          impostors.delete(i);
        }
      },
    },
    relayInterceptor: {
      // Since protocol v3 the leader sends a newcomer its roster and every member its key message alone.
      hosts(room, id) {
        const s = rooms.peek(room);
        return !!s && (id === s.own.id || id === s.forged.id);
      },
      relay(room, from, to, payload) {
        const s = rooms.get(room);
        const msg = peek(payload);
        const t = typeOf(msg);
        const out: Delivery[] = [{ to, payload }];
        // Sealed (no link): the first relay from a participant stands in for its announcement.
        const announcement = msg === undefined ? payload : t === 'announce' && msg['id'] === from.id ? msg : undefined;
        if (announcement !== undefined && !s.announced.has(from.id)) {
          s.announced.add(from.id);
          for (const q of room.participants.values()) if (!s.told.has(q.id)) tell(s, q, announcement);
          // A server-signed announcement for the forged ghost, relayed as a real participant.
          const signedForGhost = encodeMessage({ type: 'announce', announcement: s.forged.announcement({ name: FORGED_NAME }) });
          for (const q of room.participants.values()) {
            const as = q.id === from.id ? [...room.participants.keys()].find((id) => id !== from.id) : from.id;
            if (!as) continue;
            out.push({ to: q.id, payload: signedForGhost, as });
            stats.to(q.id, 'ghost-announcement-as-real-participant');
            stats.bump('relabelled-ghost-announcements');
          }
        } else if (t === 'roster' && msg && Array.isArray(msg['members'])) {
          const listed = (id: string): boolean =>
            (msg['members'] as unknown[]).some((m) => typeof m === 'object' && m !== null && (m as Json)['id'] === id);
          if (listed(s.own.id)) stats.bump('rosters-listing-own-key-ghost');
          if (listed(s.forged.id)) stats.bump('rosters-listing-forged-ghost');
        }
        if ((t === 'roster' || t === 'keys' || t === 'delta') && (to === null || to === s.own.id))
          out.push(...s.own.observe(from, payload));
        return out;
      },
    },
    close() {
      for (const i of impostors) i.close();
    },
  };
};
