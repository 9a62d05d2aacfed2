// impersonate-leader: the server tells clients that someone other than the
// leader leads. Three lies, all of which clients must see through, since
// leadership comes only from the verified roster (protocol.md §5):
//
// 1. Join order: once a second participant is there, the server moves the
//    first joiner to the end of its participant list, so every later join
//    result lists a non-leader first.
// 2. Relabelling: every roster, key message and commit the leader sends
//    reaches each recipient twice, first relayed as if another (non-leader)
//    participant sent it (→ NOT_LEADER), then as it really came.
// 3. Forgery: after each key message the server sends a commit for that
//    epoch, and after each commit a roster for the next epoch that lists a
//    non-leader first, both signed with the server's own key and relayed as
//    that non-leader (→ NOT_LEADER).
//
// The real messages still arrive, so the meeting must keep working, with the
// real leader shown everywhere.

import { createCommit } from '../../shared/e2ee/commit.ts';
import { decodeMessage, encodeMessage } from '../../shared/e2ee/wire.ts';
import { generateIdentity } from '../../shared/e2ee/identity.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { createRoster, rosterHash, type VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { ids, peek, recipients, RoomState, typeOf, type AttackFactory, type Delivery } from './common.ts';

interface ImpersonateState {
  reordered: boolean;
  /** Present when the join order was rewritten: everyone after them got a lying join result. */
  presentAtReorder: Set<string>;
  liedTo: Set<string>;
  rosters: Map<number, VerifiedRoster>;
}

export const impersonateLeaderAttack: AttackFactory = async (_ctx, stats) => {
  await initCrypto();
  const server = generateIdentity();
  const rooms = new RoomState<ImpersonateState>(() => ({
    reordered: false,
    presentAtReorder: new Set(),
    liedTo: new Set(),
    rosters: new Map(),
  }));

  return {
    stats,
    relayInterceptor: {
      relay(room, from, to, payload) {
        const s = rooms.get(room);

        // 1. Rewrite the join order (Map insertion order is what join results list).
        if (!s.reordered && room.participants.size >= 2) {
          const first = ids(room)[0]!;
          const entry = room.participants.get(first)!;
          room.participants.delete(first);
          room.participants.set(first, entry);
          s.reordered = true;
          s.presentAtReorder = new Set(ids(room));
          stats.roles[`true-first:${room.meetingId}`] = first;
          stats.roles[`claimed-first:${room.meetingId}`] = ids(room)[0]!;
          stats.note(`moved ${first} to the end of the join order; join results now list ${ids(room)[0]} first`);
        }
        if (s.reordered && !s.presentAtReorder.has(from.id) && !s.liedTo.has(from.id)) {
          s.liedTo.add(from.id);
          stats.bump('join-results-with-wrong-first');
        }

        const msg = peek(payload);
        const t = typeOf(msg);
        if (t !== 'roster' && t !== 'delta' && t !== 'keys' && t !== 'commit') return [{ to, payload }];

        // 2. Each recipient first gets the message relabelled as another non-leader.
        const out: Delivery[] = [];
        for (const q of recipients(room, from, to)) {
          const as = ids(room).find((id) => id !== q && id !== from.id);
          if (as) {
            out.push({ to: q, payload, as });
            stats.bump('relabelled');
            stats.bump(`relabelled-${t}`);
            stats.to(q, `relabelled-${t}`);
          }
          out.push({ to: q, payload });
        }

        // 3. Forgeries from a non-leader.
        const m = decodeMessage(payload);
        if (!m.ok) return out;
        if (m.value.type === 'roster') {
          s.rosters.set(m.value.roster.epoch, { roster: m.value.roster, hash: rosterHash(m.value.roster) });
        } else if (m.value.type === 'keys') {
          const k = m.value.keys;
          // Key messages go to each member alone (protocol.md §4.3): one forged commit per recipient, as before.
          for (const q of to === null ? ids(room) : [to]) {
            const as = ids(room).find((id) => id !== q && id !== from.id);
            if (!as) continue;
            const commit = createCommit(
              {
                meetingId: k.meetingId,
                instanceId: k.instanceId,
                epoch: k.epoch,
                leaderId: as,
                rosterHash: k.rosterHash,
                reason: 'all-acked',
              },
              server,
            );
            out.push({ to: q, payload: encodeMessage({ type: 'commit', commit }), as });
            stats.bump('forged-commits');
            stats.to(q, 'forged-commit');
          }
        } else if (m.value.type === 'commit') {
          const head = s.rosters.get(m.value.commit.epoch);
          const fake = head?.roster.members.find((x) => x.participantId !== from.id && room.participants.has(x.participantId));
          if (head && fake) {
            const { signature: _signature, ...fields } = head.roster;
            const members = [fake, ...head.roster.members.filter((x) => x !== fake)];
            const forged = createRoster({ ...fields, epoch: head.roster.epoch + 1, prevHash: head.hash, members }, server);
            const forgedPayload = encodeMessage({ type: 'roster', roster: forged.roster });
            for (const q of ids(room)) {
              if (q === fake.participantId) continue;
              out.push({ to: q, payload: forgedPayload, as: fake.participantId });
              stats.bump('forged-rosters');
              stats.to(q, 'forged-roster');
            }
          }
        }
        return out;
      },
    },
  };
};
