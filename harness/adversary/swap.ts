// swap: replaces a participant's public keys in transit. The victim is the
// second participant to join a meeting. Its announcement reaches everyone else
// with the identity key (`ik`) and X25519 key (`dh`) replaced by key pairs the
// server holds, so a leader that accepted it would encrypt the epoch key to the
// server. The victim's signature stays as it was (the server cannot sign for
// the victim's identity), so receivers must reject it (BAD_SIGNATURE) and
// never key the victim; the victim is shown as not in the key. Should a roster
// ever list the victim, its entry there is swapped the same way.

import { generateIdentity } from '../../shared/e2ee/identity.ts';
import { dhKeyPairFromSeed, initCrypto, systemRandom } from '../../shared/e2ee/primitives.ts';
import { b64, clone, ids, peek, recipients, RoomState, typeOf, type AttackFactory, type Json } from './common.ts';

interface SwapState {
  victim?: string;
}

export const swapAttack: AttackFactory = async (_ctx, stats) => {
  await initCrypto();
  // The server's own keys, put in place of the victim's.
  const serverIk = b64(generateIdentity().publicKey);
  const serverDh = b64(dhKeyPairFromSeed(systemRandom(32)).publicKey);
  const rooms = new RoomState<SwapState>(() => ({}));

  const swapEntry = (entry: Json): void => {
    entry['ik'] = serverIk;
    entry['dh'] = serverDh;
  };

  return {
    stats,
    relayInterceptor: {
      relay(room, from, to, payload) {
        const s = rooms.get(room);
        if (!s.victim) {
          s.victim = ids(room)[1];
          if (s.victim) stats.roles[`victim:${room.meetingId}`] = s.victim;
        }
        const victim = s.victim;
        const msg = peek(payload);
        const t = typeOf(msg);
        if (!victim || !msg) return [{ to, payload }];
        if (t === 'announce' && from.id === victim && msg['id'] === victim) {
          const swapped = clone(msg);
          swapEntry(swapped);
          stats.bump('swapped-announce');
          for (const id of recipients(room, from, to)) stats.to(id, 'swapped-announce');
          stats.note(`swapped the identity and X25519 keys in ${victim}'s announcement`);
          return [{ to, payload: JSON.stringify(swapped) }];
        }
        if (t === 'roster' && Array.isArray(msg['members'])) {
          const swapped = clone(msg);
          const entry = (swapped['members'] as unknown[]).find(
            (m): m is Json => typeof m === 'object' && m !== null && (m as Json)['id'] === victim,
          );
          if (entry) {
            swapEntry(entry);
            stats.bump('swapped-roster');
            for (const id of recipients(room, from, to)) stats.to(id, 'swapped-roster');
            stats.note(`swapped ${victim}'s keys in the epoch ${String(msg['epoch'])} roster`);
            return [{ to, payload: JSON.stringify(swapped) }];
          }
        }
        return [{ to, payload }];
      },
    },
  };
};
