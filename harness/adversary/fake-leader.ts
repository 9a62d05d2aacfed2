// fake-leader: the server hands every newcomer a leader of its own. From the
// second joiner on, each newcomer:
//
// - is told, in its join result, that a participant the server made up joined
//   before everyone else (so by join order it would lead);
// - never receives anything the real leader (the first joiner) relays to it:
//   announcements, rosters, key messages, commits;
// - gets, in their place, a roster signed with the server's own identity as
//   that made-up leader, listing the leader first and then every real
//   member's announcement it could read, the newcomer's included.
//
// The server alone holds no meeting link: it cannot read the announcements, so
// its roster lists only the made-up leader, and nothing it sends is sealed
// with the link. The newcomer must refuse all of it unread (NO_LINK_PROOF),
// show the made-up leader as outside the meeting, send no media, and say that
// it is still waiting for the key. As an insider holding the link
// (insider.ts), the roster lists the real members, a key message and a commit
// follow, all sealed as the made-up leader: the newcomer then accepts it and is
// keyed by the server, which is what holding the link allows (split view,
// caught by comparing security codes: docs/threat-model.md).

import { encodeMessage, decodeMessage } from '../../shared/e2ee/wire.ts';
import { createCommit } from '../../shared/e2ee/commit.ts';
import { createKeysMessage } from '../../shared/e2ee/key-message.ts';
import { initCrypto, systemRandom } from '../../shared/e2ee/primitives.ts';
import { createRoster, GENESIS_HASH, memberFromAnnouncement } from '../../shared/e2ee/roster.ts';
import type { Announcement } from '../../shared/e2ee/announcement.ts';
import type { PeerInfo } from '../../shared/protocol/signaling.ts';
import type { Room } from '../../server/room.ts';
import { randomId } from '../../server/room.ts';
import { ids, recipients, RoomState, type AttackFactory, type Delivery } from './common.ts';
import { Impostor } from './impostor.ts';

interface FakeLeaderState {
  leader: Impostor;
  /** The real leader: the first joiner. */
  real?: string;
  /** Newcomers the made-up leader was given to. */
  victims: Set<string>;
  /** Announcements the server could read (only an insider can), by participant. */
  announcements: Map<string, Announcement>;
  /** Newcomers already sent the forged roster. */
  served: Set<string>;
}

export const fakeLeaderAttack: AttackFactory = async (_ctx, stats) => {
  await initCrypto();
  const impostors = new Set<Impostor>();
  const rooms = new RoomState<FakeLeaderState>((room: Room) => {
    const leader = new Impostor(room, randomId(9), stats);
    impostors.add(leader);
    stats.roles[`fake-leader:${room.meetingId}`] = leader.id;
    return { leader, victims: new Set(), announcements: new Map(), served: new Set() };
  });

  /**
   * What the made-up leader sends one newcomer: a roster signed by it, and,
   * if the server could read the newcomer's announcement (an insider), an
   * epoch key sealed to it and the commit that puts it in use.
   */
  const forgedEpoch = (room: Room, s: FakeLeaderState, victim: string): string[] => {
    const members = [memberFromAnnouncement(s.leader.announcement()), ...[...s.announcements.values()].map(memberFromAnnouncement)];
    const meeting = { meetingId: room.meetingId, instanceId: room.instanceId };
    const roster = createRoster({ ...meeting, epoch: 1, prevHash: GENESIS_HASH, members }, s.leader.identity);
    const out = [encodeMessage({ type: 'roster', roster: roster.roster })];
    const a = s.announcements.get(victim);
    if (!a) return out;
    const keys = createKeysMessage({
      roster,
      epochKey: systemRandom(32),
      recipients: [{ participantId: victim, dhKey: a.dhKey, echo: a.nonce }],
      identity: s.leader.identity,
      random: systemRandom,
    });
    const commit = createCommit(
      { ...meeting, epoch: 1, leaderId: s.leader.id, rosterHash: roster.hash, reason: 'all-acked' },
      s.leader.identity,
    );
    return [...out, encodeMessage({ type: 'keys', keys }), encodeMessage({ type: 'commit', commit })];
  };

  return {
    stats,
    outgoingInterceptor: {
      outgoing(room, to, message) {
        const s = rooms.get(room);
        s.real ??= ids(room)[0];
        const data = message.type === 'response' && message.ok ? message.data : undefined;
        if (message.type !== 'response' || !isJoinData(data) || to.id === s.real) return message;
        // A newcomer's join result: the made-up leader joined first.
        s.victims.add(to.id);
        stats.roles[`victim:${room.meetingId}`] ??= to.id;
        stats.bump('join-results-with-fake-leader');
        stats.to(to.id, 'fake-leader-listed');
        stats.note(`told newcomer ${to.id} that ${s.leader.id} joined first`);
        const fake: PeerInfo = { participantId: s.leader.id };
        return { ...message, data: { ...data, peers: [fake, ...data.peers] } };
      },
    },
    relayInterceptor: {
      relay(room, from, to, payload) {
        const s = rooms.get(room);
        const m = decodeMessage(payload);
        if (m.ok && m.value.type === 'announce' && m.value.announcement.participantId === from.id)
          s.announcements.set(from.id, m.value.announcement);
        const out: Delivery[] = [];
        for (const q of recipients(room, from, to)) {
          if (from.id === s.real && s.victims.has(q)) {
            stats.bump('withheld-from-newcomer');
            stats.to(q, 'withheld');
            continue;
          }
          out.push({ to: q, payload });
        }
        // The newcomer's first relay (its announcement): answer it as the made-up leader.
        if (s.victims.has(from.id) && !s.served.has(from.id)) {
          s.served.add(from.id);
          for (const forged of forgedEpoch(room, s, from.id)) out.push({ to: from.id, payload: forged, as: s.leader.id });
          stats.bump('forged-rosters');
          stats.to(from.id, 'forged-roster');
          stats.note(`sent ${from.id} a roster signed by the made-up leader ${s.leader.id} (${s.announcements.size} real members listed)`);
        }
        return out;
      },
    },
    close() {
      for (const i of impostors) i.close();
    },
  };
};

function isJoinData(data: unknown): data is { peers: PeerInfo[] } & Record<string, unknown> {
  return typeof data === 'object' && data !== null && Array.isArray((data as { peers?: unknown }).peers);
}
