// relabel-*: the server lies about what a stream is, in the only place it
// says so: the producer metadata of join results, `producer-added` and
// `producer-paused` notices and consume answers (none of it is sealed with
// the meeting link). The media itself is untouched: real frames from a real
// member, under that member's real key, only announced as something else.
//
//   relabel-source  the first joiner's camera is announced as its screen
//                   share, and its screen share (once it shares) as its
//                   camera, to everyone: "the server can swap a participant's
//                   camera and screen share".
//   relabel-sender  the first two joiners' streams are swapped for everyone
//                   else: the third joiner is told the first joiner's
//                   microphone and camera are the second's, and the other way round.
//   relabel-kind    the first joiner's microphone is announced as video (its
//                   screen share), and its screen share (once it shares) as
//                   audio (its microphone), to everyone.
//
// Receivers must drop every relabelled frame (WRONG_SOURCE, WRONG_SENDER: the
// KID names the source and the key the sender) and say so on the tile; a
// microphone announced as video must not reach the receive PeerConnection at
// all (it would break every other stream) and its tile says why.

import type { MediaKind, MediaSource, ServerMessage } from '../../shared/protocol/signaling.ts';
import type { Participant, Room } from '../../server/room.ts';
import { ids, type AttackFactory, type AttackStats } from './common.ts';

/** What a stream is said to be. */
interface Label {
  participantId: string;
  kind: MediaKind;
  source: MediaSource;
}

type Relabel = (room: Room, to: Participant, producerId: string, truth: Label) => Label | undefined;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function labelOf(v: Record<string, unknown>): Label | undefined {
  const { participantId, kind, source } = v;
  if (typeof participantId !== 'string' || (kind !== 'audio' && kind !== 'video')) return undefined;
  if (source !== 'mic' && source !== 'camera' && source !== 'screen') return undefined;
  return { participantId, kind, source };
}

/** An attack that rewrites every producer description a recipient is given, by `relabel`. */
function relabelAttack(stats: AttackStats, relabel: Relabel): ReturnType<AttackFactory> {
  /** The description of one producer as `to` is told it; counted when changed. */
  const rewrite = <T extends Record<string, unknown>>(room: Room, to: Participant, v: T, counter: string): T => {
    const truth = labelOf(v);
    const producerId = v['producerId'];
    if (!truth || typeof producerId !== 'string') return v;
    const lie = relabel(room, to, producerId, truth);
    if (!lie || (lie.participantId === truth.participantId && lie.kind === truth.kind && lie.source === truth.source)) return v;
    stats.bump(counter);
    stats.to(to.id, counter);
    stats.note(
      `told ${to.id} that ${truth.participantId}'s ${truth.source} (${producerId}) is ${lie.participantId}'s ${lie.source} (${lie.kind})`,
    );
    return { ...v, ...lie };
  };
  return {
    stats,
    outgoingInterceptor: {
      outgoing(room, to, message): ServerMessage {
        if (message.type === 'producer-added') return rewrite(room, to, { ...message }, 'relabelled-notices') as ServerMessage;
        if (message.type === 'producer-paused') {
          const owner = ownerOf(room, message.producerId);
          if (!owner) return message;
          const lie = relabel(room, to, message.producerId, owner);
          return lie ? { ...message, participantId: lie.participantId } : message;
        }
        if (message.type !== 'response' || !message.ok || !isObj(message.data)) return message;
        const data = message.data;
        // A join result: its producer list.
        if (Array.isArray(data['producers']) && Array.isArray(data['peers'])) {
          const producers = (data['producers'] as unknown[]).map((p) => (isObj(p) ? rewrite(room, to, p, 'relabelled-join-producers') : p));
          return { ...message, data: { ...data, producers } } as ServerMessage;
        }
        // A consume answer.
        if (typeof data['consumerId'] === 'string' && isObj(data['rtpParameters'])) {
          return { ...message, data: rewrite(room, to, data, 'relabelled-consumes') } as ServerMessage;
        }
        return message;
      },
    },
  };
}

/** Who really owns a producer, and what it really is. */
function ownerOf(room: Room, producerId: string): Label | undefined {
  for (const p of room.participants.values()) {
    const e = p.producers.get(producerId);
    if (e) return { participantId: p.id, kind: e.producer.kind, source: e.source };
  }
  return undefined;
}

/** The first joiner's camera ↔ screen share, for everyone. */
export const relabelSourceAttack: AttackFactory = (_ctx, stats) =>
  relabelAttack(stats, (room, _to, _producerId, truth) => {
    const first = ids(room)[0];
    if (truth.participantId !== first) return undefined;
    stats.roles[`relabelled:${room.meetingId}`] = first;
    if (truth.source === 'camera') return { ...truth, source: 'screen' };
    if (truth.source === 'screen') return { ...truth, source: 'camera' };
    return undefined;
  });

/** The first two joiners' streams swapped, for everyone else. */
export const relabelSenderAttack: AttackFactory = (_ctx, stats) =>
  relabelAttack(stats, (room, to, _producerId, truth) => {
    const [a, b] = ids(room);
    if (!a || !b || to.id === a || to.id === b) return undefined;
    stats.roles[`swapped-a:${room.meetingId}`] = a;
    stats.roles[`swapped-b:${room.meetingId}`] = b;
    if (truth.participantId === a) return { ...truth, participantId: b };
    if (truth.participantId === b) return { ...truth, participantId: a };
    return undefined;
  });

/** The first joiner's microphone announced as video (its screen share) and its screen share as audio (its microphone), for everyone. */
export const relabelKindAttack: AttackFactory = (_ctx, stats) =>
  relabelAttack(stats, (room, _to, _producerId, truth) => {
    const first = ids(room)[0];
    if (truth.participantId !== first) return undefined;
    stats.roles[`relabelled:${room.meetingId}`] = first;
    if (truth.source === 'mic') return { ...truth, kind: 'video', source: 'screen' };
    if (truth.source === 'screen') return { ...truth, kind: 'audio', source: 'mic' };
    return undefined;
  });
