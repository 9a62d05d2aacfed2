// name-swap: the server lies about who is who and who is here, in the only
// places it speaks for itself (join results and notices), never touching a
// sealed payload. The protocol gives the server no names (they travel only
// inside payloads sealed with the meeting link), so it adds its own `name`
// fields, which the protocol does not have, hoping a client shows them.
// Three lies per meeting:
//
// 1. Swap: the first joiner is called "Bob" and the second "Alice" (the tests
//    name them the other way round) in every join result's peer list and every
//    `participant-joined` notice.
// 2. Outsider: everyone is told a made-up participant named "Erin" joined
//    (right after its own join result). No client runs it; it never
//    announces, so it is outside every roster.
// 3. False leave: once the third joiner is keyed (its second relay payload:
//    its announcement, then its ack; the server cannot read them but can
//    count), the server tells it, and only it, that the second joiner left.
//    The second joiner stays connected and in the key, and keeps decrypting.
//
// Clients must name people only from the verified roster (protocol.md §3.1),
// show the outsider without the server's name, and keep a tile for a member
// the server says left while it is still in the roster.

import type { PeerInfo, ServerNotice } from '../../shared/protocol/signaling.ts';
import { randomId, type Room } from '../../server/room.ts';
import { ids, RoomState, type AttackFactory } from './common.ts';

/** The outsider's server-given name: no screen may show it. */
export const OUTSIDER_NAME = 'Erin';
/** The names the server gives the first two joiners: each the other's (the tests call them Alice and Bob). */
export const SWAPPED_NAMES = ['Bob', 'Alice'] as const;

interface NameSwapState {
  /** Participant IDs in the order the server saw them join. */
  order: string[];
  outsider: string;
  /** Participants told about the outsider. */
  toldOutsider: Set<string>;
  /** Relay payloads the third joiner sent so far. */
  thirdSent: number;
  falseLeaveSent: boolean;
}

export const nameSwapAttack: AttackFactory = (_ctx, stats) => {
  const rooms = new RoomState<NameSwapState>((room: Room) => {
    const outsider = randomId(9);
    stats.roles[`outsider:${room.meetingId}`] = outsider;
    return { order: [], outsider, toldOutsider: new Set(), thirdSent: 0, falseLeaveSent: false };
  });

  const learn = (room: Room, s: NameSwapState, id: string): void => {
    if (id === s.outsider || s.order.includes(id)) return;
    s.order.push(id);
    if (s.order.length === 2) {
      stats.roles[`swapped-a:${room.meetingId}`] = s.order[0]!;
      stats.roles[`swapped-b:${room.meetingId}`] = s.order[1]!;
      stats.note(`swapping the names of ${s.order[0]} and ${s.order[1]}`);
    }
  };

  /** The name the server makes up for a participant: the other's, for the first two joiners. */
  const claimedName = (s: NameSwapState, p: PeerInfo): string | undefined => {
    const at = s.order.indexOf(p.participantId);
    return at === 0 || at === 1 ? SWAPPED_NAMES[at] : undefined;
  };

  /** A `participant-joined` for the made-up participant, once per recipient (after its join result). */
  const tellOutsider = (s: NameSwapState, recipient: string, send: (m: ServerNotice) => void): void => {
    if (s.toldOutsider.has(recipient)) return;
    s.toldOutsider.add(recipient);
    send({ type: 'participant-joined', participantId: s.outsider, ...{ name: OUTSIDER_NAME } });
    stats.bump('outsider-announced');
    stats.to(recipient, 'outsider-joined');
  };

  return {
    stats,
    outgoingInterceptor: {
      outgoing(room, to, message) {
        const s = rooms.get(room);
        for (const p of room.participants.values()) learn(room, s, p.id);
        if (message.type === 'participant-joined') {
          learn(room, s, message.participantId);
          const name = claimedName(s, message);
          if (name === undefined) return message;
          stats.bump('swapped-join-notices');
          stats.to(to.id, 'swapped-join-notice');
          return { ...message, ...{ name } };
        }
        const data = message.type === 'response' && message.ok ? message.data : undefined;
        if (message.type === 'response' && isJoinData(data)) {
          const peers = data.peers.map((p) => {
            const name = claimedName(s, p);
            return name === undefined ? p : { ...p, ...{ name } };
          });
          const swapped = peers.filter((p) => claimedName(s, p) !== undefined).length;
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
        if (from.id === third) s.thirdSent += 1;
        if (!s.falseLeaveSent && second && from.id === third && s.thirdSent === 2) {
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
