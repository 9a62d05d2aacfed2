// name-swap: the server lies about who is who and who is here, in the only
// places it speaks for itself (join results and notices), never touching a
// signed payload. Three lies per meeting:
//
// 1. Swap: the first two joiners' names are exchanged in every join result's
//    peer list and every `participant-joined` notice, so each is announced to
//    the others under the other's name (Alice's face and voice labelled "Bob").
// 2. Outsider: everyone is told a made-up participant named "Erin" joined
//    (right after its own join result). No client runs it; it never
//    announces, so it is outside every roster.
// 3. False leave: once the third joiner acks its first key (it is keyed), the
//    server tells it, and only it, that the second joiner left. The second
//    joiner stays connected and in the key, and keeps decrypting its media.
//
// Clients must name people only from the verified roster (protocol.md §3.1),
// show the outsider without the server's name, and keep a tile for a member
// the server says left while it is still in the roster.

import type { PeerInfo, ServerNotice } from '../../shared/protocol/signaling.ts';
import { randomId, type Room } from '../../server/room.ts';
import { ids, peek, RoomState, typeOf, type AttackFactory } from './common.ts';

/** The outsider's server-given name: no screen may show it. */
export const OUTSIDER_NAME = 'Erin';

interface NameSwapState {
  /** Real names as the joiners gave them, by participant ID. */
  names: Map<string, string>;
  /** Participant IDs in the order the server saw them join. */
  order: string[];
  outsider: string;
  /** Participants told about the outsider. */
  toldOutsider: Set<string>;
  falseLeaveSent: boolean;
}

export const nameSwapAttack: AttackFactory = (_ctx, stats) => {
  const rooms = new RoomState<NameSwapState>((room: Room) => {
    const outsider = randomId(9);
    stats.roles[`outsider:${room.meetingId}`] = outsider;
    return { names: new Map(), order: [], outsider, toldOutsider: new Set(), falseLeaveSent: false };
  });

  const learn = (room: Room, s: NameSwapState, id: string, name: string): void => {
    if (id === s.outsider || s.names.has(id)) return;
    s.names.set(id, name);
    s.order.push(id);
    if (s.order.length === 2) {
      stats.roles[`swapped-a:${room.meetingId}`] = s.order[0]!;
      stats.roles[`swapped-b:${room.meetingId}`] = s.order[1]!;
      stats.note(`swapping the names of ${s.order[0]} and ${s.order[1]}`);
    }
  };

  /** The name the server claims for a participant: its partner's, if it is one of the swapped pair. */
  const claimedName = (s: NameSwapState, p: PeerInfo): string => {
    const [a, b] = s.order;
    const partner = p.participantId === a ? b : p.participantId === b ? a : undefined;
    return partner !== undefined ? (s.names.get(partner) ?? p.name) : p.name;
  };

  /** A `participant-joined` for the made-up participant, once per recipient (after its join result). */
  const tellOutsider = (s: NameSwapState, recipient: string, send: (m: ServerNotice) => void): void => {
    if (s.toldOutsider.has(recipient)) return;
    s.toldOutsider.add(recipient);
    send({ type: 'participant-joined', participantId: s.outsider, name: OUTSIDER_NAME });
    stats.bump('outsider-announced');
    stats.to(recipient, 'outsider-joined');
  };

  return {
    stats,
    outgoingInterceptor: {
      outgoing(room, to, message) {
        const s = rooms.get(room);
        for (const p of room.participants.values()) learn(room, s, p.id, p.name);
        if (message.type === 'participant-joined') {
          learn(room, s, message.participantId, message.name);
          const name = claimedName(s, message);
          if (name === message.name) return message;
          stats.bump('swapped-join-notices');
          stats.to(to.id, 'swapped-join-notice');
          return { ...message, name };
        }
        const data = message.type === 'response' && message.ok ? message.data : undefined;
        if (message.type === 'response' && isJoinData(data)) {
          const peers = data.peers.map((p) => ({ ...p, name: claimedName(s, p) }));
          const swapped = peers.filter((p, i) => p.name !== data.peers[i]!.name).length;
          if (swapped > 0) {
            stats.bump('swapped-join-results');
            stats.to(to.id, 'swapped-join-result', swapped);
          }
          tellOutsider(s, to.id, (m) => to.peer.send(m));
          return { ...message, data: { ...data, peers } };
        }
        return message;
      },
    },
    relayInterceptor: {
      relay(room, from, to, payload) {
        const s = rooms.get(room);
        const [, second, third] = ids(room);
        // The third joiner's first ack: it is keyed. Tell it, falsely, that the second left.
        if (!s.falseLeaveSent && second && from.id === third && typeOf(peek(payload)) === 'ack') {
          s.falseLeaveSent = true;
          from.peer.send({ type: 'participant-left', participantId: second });
          stats.roles[`falsely-left:${room.meetingId}`] = second;
          stats.roles[`told-left:${room.meetingId}`] = from.id;
          stats.bump('false-leaves');
          stats.note(`told ${from.id} that ${second} left (it did not)`);
        }
        return [{ to, payload }];
      },
    },
  };
};

function isJoinData(data: unknown): data is { peers: PeerInfo[] } & Record<string, unknown> {
  return typeof data === 'object' && data !== null && Array.isArray((data as { peers?: unknown }).peers);
}
