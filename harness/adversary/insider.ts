// The adversary as an insider who holds the meeting link. Attack tests of the
// defences behind the link envelope (signatures, rosters, the lock) run the
// attacks with the link's secret: this wrapper opens every relayed payload
// before the attack sees it and seals whatever the attack relays (forged
// payloads included) as the participant it relays them from. Without it, the
// server sees only sealed payloads, and whatever it forges is refused unread
// (NO_LINK_PROOF): the attack tests that flip (ghost, swap-resign, fake-leader)
// run that way. Test only.

import { LinkSeal } from '../../shared/e2ee/link.ts';
import { fromBase64Url } from '../../shared/e2ee/encoding.ts';
import type { Room } from '../../server/room.ts';
import type { Attack } from './common.ts';

/** The link secret (base64url) of a meeting, if the insider holds it. */
export type InsiderLinks = (meetingId: string) => string | undefined;

const SEALED = 'L1.';

/** Interceptors as an insider would run them (any object carrying them: an Attack, or a test's own tamperer). */
export function asInsider<A extends Pick<Attack, 'relayInterceptor' | 'outgoingInterceptor'>>(attack: A, secretOf: InsiderLinks): A {
  const seals = new WeakMap<Room, LinkSeal | null>();
  const sealOf = (room: Room): LinkSeal | null => {
    let s = seals.get(room);
    if (s === undefined) {
      const text = secretOf(room.meetingId);
      const secret = text ? fromBase64Url(text) : undefined;
      s = secret ? new LinkSeal(secret, room.meetingId, room.instanceId) : null;
      seals.set(room, s);
    }
    return s;
  };
  const open = (room: Room, from: string, payload: string): string => {
    const o = sealOf(room)?.open(from, payload);
    return o?.ok ? o.value : payload;
  };
  const seal = (room: Room, from: string, payload: string): string => {
    const s = sealOf(room);
    return s && !payload.startsWith(SEALED) ? s.seal(from, payload) : payload;
  };
  const inner = attack.relayInterceptor;
  const outgoing = attack.outgoingInterceptor;
  return {
    ...attack,
    ...(inner
      ? {
          relayInterceptor: {
            ...(inner.hosts ? { hosts: inner.hosts.bind(inner) } : {}),
            relay(room, from, to, payload) {
              const plain = open(room, from.id, payload);
              return inner.relay(room, from, to, plain).map((d) => {
                const as = d.as ?? from.id;
                // Untouched: relay the sender's own sealed payload.
                const out = d.payload === plain && as === from.id ? payload : seal(room, as, d.payload);
                return { ...d, payload: out };
              });
            },
          },
        }
      : {}),
    outgoingInterceptor: {
      outgoing(room, to, message) {
        // Relays the attack sends itself (peer.send), as the participant it names.
        const m = message.type === 'relay' ? { ...message, payload: seal(room, message.from, message.payload) } : message;
        return outgoing ? outgoing.outgoing(room, to, m) : m;
      },
    },
  };
}
