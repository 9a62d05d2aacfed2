// Building blocks for the unit tests: participants with keys, announcements,
// rosters and key messages made the honest way, ready to be tampered with.

import { createAnnouncement, type Announcement } from '../../shared/e2ee/announcement.ts';
import { generateIdentity, type IdentityKeyPair } from '../../shared/e2ee/identity.ts';
import { createKeysMessage, type KeysMessage } from '../../shared/e2ee/key-message.ts';
import { LinkSeal } from '../../shared/e2ee/link.ts';
import { LivenessNonces } from '../../shared/e2ee/liveness.ts';
import { dhKeyPairFromSeed, systemRandom, type DhKeyPair } from '../../shared/e2ee/primitives.ts';
import { createRoster, GENESIS_HASH, memberFromAnnouncement, type VerifiedRoster } from '../../shared/e2ee/roster.ts';

export const MEETING = 'standup-42';
export const INSTANCE = 'inst_9f2c41aa';
export const CTX = { meetingId: MEETING, instanceId: INSTANCE } as const;

/** The meeting link every fixture participant holds (a fixed secret: tests are deterministic). */
export const TEST_LINK_SECRET = new Uint8Array(32).fill(0x5a);
export const testLink = (): LinkSeal => new LinkSeal(TEST_LINK_SECRET, MEETING, INSTANCE);

export interface TestParticipant {
  id: string;
  identity: IdentityKeyPair;
  dh: DhKeyPair;
  nonces: LivenessNonces;
  announcement: Announcement;
}

/** A participant whose display name is its ID, capitalised ('alice' → 'Alice'), unless given. */
export function participant(
  id: string,
  ctx: { meetingId: string; instanceId: string } = CTX,
  name = id.charAt(0).toUpperCase() + id.slice(1),
): TestParticipant {
  const identity = generateIdentity();
  const dh = dhKeyPairFromSeed(systemRandom(32));
  const nonces = new LivenessNonces(systemRandom);
  const announcement = createAnnouncement({ ...ctx, participantId: id, name, dhKey: dh.publicKey, nonce: nonces.latest }, identity);
  return { id, identity, dh, nonces, announcement };
}

/** One participant per ID (in this meeting), as a tuple to destructure. */
export function participants<const T extends readonly string[]>(...ids: T): { [K in keyof T]: TestParticipant } {
  return ids.map((id) => participant(id)) as { [K in keyof T]: TestParticipant };
}

/** A roster signed by `members[0]`, chained to `prev` (or a new chain); unlocked and excluding nobody unless told. */
export function rosterOf(
  members: readonly TestParticipant[],
  epoch: number,
  prev?: VerifiedRoster,
  signer?: TestParticipant,
  policy: { locked?: boolean; excluded?: string[]; unacked?: string[] } = {},
): VerifiedRoster {
  const leader = signer ?? members[0];
  if (!leader) throw new Error('empty roster');
  return createRoster(
    { ...CTX, epoch, prevHash: prev?.hash ?? GENESIS_HASH, members: members.map((m) => memberFromAnnouncement(m.announcement)), ...policy },
    leader.identity,
  );
}

/** The key message the roster's leader would send, echoing each recipient's latest nonce. */
export function keysFor(
  roster: VerifiedRoster,
  leader: TestParticipant,
  recipients: readonly TestParticipant[],
  epochKey = systemRandom(32),
  echo?: (p: TestParticipant) => Uint8Array,
): KeysMessage {
  return createKeysMessage({
    roster,
    epochKey,
    recipients: recipients.map((p) => ({ participantId: p.id, dhKey: p.dh.publicKey, echo: echo?.(p) ?? p.nonces.latest })),
    identity: leader.identity,
    random: systemRandom,
  });
}

/** Copy of bytes with one bit flipped. */
export function flipped(bytes: Uint8Array, at = 0): Uint8Array {
  const out = bytes.slice();
  out[at] = (out[at] ?? 0) ^ 0x01;
  return out;
}
