// swap-resign: the strong form of `swap`. The second joiner's announcement is
// replaced in transit by one for the same participant ID and display name but
// with an identity key and X25519 key the server holds, signed with that
// identity key, so it verifies. Nothing on the wire tells it from the real
// one: a leader that has not seen the real announcement keys the server under
// the victim's name (trust on first use). The victim itself then finds a
// roster whose entry for it is not its announcement (ROSTER_SELF_MISMATCH) and
// stays unkeyed; the security code it could compare is missing, and the
// fingerprint others see for it is not its own. The server, playing the
// victim (impostor.ts), acks and decrypts the meeting's audio.
//
// That is what an insider holding the meeting link can do (insider.ts). The
// server alone cannot read the sealed payloads: it replaces the victim's first
// relay (its announcement, as far as the server can tell) with the impostor's,
// which no link seals, so every client refuses it unread (NO_LINK_PROOF).

import { decodeMessage, encodeMessage } from '../../shared/e2ee/wire.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { ids, peek, recipients, RoomState, typeOf, type AttackFactory, type Delivery } from './common.ts';
import { Impostor } from './impostor.ts';

interface SwapState {
  victim?: string;
  impostor?: Impostor;
  /** Without the link: the victim's first sealed relay was replaced. */
  swappedSealed?: boolean;
}

export const swapResignAttack: AttackFactory = async (_ctx, stats) => {
  await initCrypto();
  const rooms = new RoomState<SwapState>(() => ({}));
  const impostors = new Set<Impostor>();
  return {
    stats,
    roomObserver: {
      producerCreated(room) {
        void rooms.peek(room)?.impostor?.spy.watchAudio();
      },
      roomClosed(room) {
        const i = rooms.peek(room)?.impostor;
        if (i) {
          i.close();
          impostors.delete(i);
        }
      },
    },
    relayInterceptor: {
      relay(room, from, to, payload) {
        const s = rooms.get(room);
        if (!s.victim) {
          s.victim = ids(room)[1];
          if (s.victim) {
            s.impostor = new Impostor(room, s.victim, stats);
            impostors.add(s.impostor);
            stats.roles[`victim:${room.meetingId}`] = s.victim;
          }
        }
        const msg = peek(payload);
        const t = typeOf(msg);
        if (s.impostor && msg === undefined && from.id === s.victim && !s.swappedSealed) {
          s.swappedSealed = true;
          const forged = encodeMessage({ type: 'announce', announcement: s.impostor.announcement() });
          stats.bump('swapped-announce');
          for (const id of recipients(room, from, to)) stats.to(id, 'swapped-announce');
          stats.note(`replaced ${s.victim}'s first (sealed) relay with an announcement signed by the server's identity key`);
          return [{ to, payload: forged }];
        }
        if (s.impostor && t === 'announce' && from.id === s.victim) {
          const real = decodeMessage(payload);
          if (real.ok && real.value.type === 'announce' && real.value.announcement.participantId === s.victim) {
            const forged = encodeMessage({ type: 'announce', announcement: s.impostor.announcement(real.value.announcement) });
            stats.bump('swapped-announce');
            for (const id of recipients(room, from, to)) stats.to(id, 'swapped-announce');
            stats.note(`replaced ${s.victim}'s announcement with one signed by the server's identity key`);
            return [{ to, payload: forged }];
          }
        }
        const out: Delivery[] = [{ to, payload }];
        if (s.impostor && (t === 'roster' || t === 'keys' || t === 'delta')) out.push(...s.impostor.observe(from, payload));
        return out;
      },
    },
    close() {
      for (const i of impostors) i.close();
    },
  };
};
