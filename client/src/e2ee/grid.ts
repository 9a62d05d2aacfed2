// Who gets a tile: exactly the verified roster (its holders of the meeting
// key, named as they signed), plus anyone the server says is present but who
// is outside the roster, marked as such. The server's word decides neither
// names nor membership: a member it says left keeps its tile, marked as not
// connected, until a roster without it arrives (it may still be decrypting).

import type { RosterMemberView } from '../../../shared/e2ee/index.ts';
import type { RemoteParticipant } from '../meeting.ts';
import { memberName, unverifiedLabel } from './names.ts';

export interface GridEntry {
  /** Media and mute state; an empty record for a member the server never reported. */
  participant: RemoteParticipant;
  name: string;
  /** In the verified roster (holds the meeting key). */
  inKey: boolean;
  /** The server's word: it reported the participant and not its departure. */
  present: boolean;
  /** Its payloads are not sealed with our meeting link: it holds another link, or is the server's own. */
  noLink: boolean;
}

export function gridEntries(
  roster: readonly RosterMemberView[],
  participants: ReadonlyMap<string, RemoteParticipant>,
  selfId: string | undefined,
  outsiders: ReadonlySet<string> = new Set(),
): GridEntry[] {
  const out: GridEntry[] = [];
  const members = new Set<string>();
  for (const m of roster) {
    members.add(m.participantId);
    if (m.participantId === selfId) continue;
    const p = participants.get(m.participantId);
    out.push({
      participant: p ?? unreported(m.participantId),
      name: memberName(m),
      inKey: true,
      present: p?.present ?? false,
      noLink: false,
    });
  }
  for (const p of participants.values()) {
    if (!members.has(p.id) && p.present)
      out.push({ participant: p, name: unverifiedLabel(p.id), inKey: false, present: true, noLink: outsiders.has(p.id) });
  }
  return out;
}

function unreported(id: string): RemoteParticipant {
  return { id, present: false, tracks: {}, failedStreams: {}, micMuted: false, cameraOff: false, e2ee: 'waiting-for-key', speaking: false };
}
