// What a malicious server can sign with an identity key of its own: an
// announcement for a participant it runs (optionally with a small-order X25519
// key), a roster that names that participant as leader (optionally far larger
// than any meeting), a roster delta that follows an honest roster (signed by
// the server, or not rebuilding to the hash it names, or removing someone the
// roster lacks), and a key message under that roster, for everyone or for one
// member alone. None of it carries an honest member's signature.

import { createAnnouncement, type Announcement } from '../../../shared/e2ee/announcement.ts';
import type { IdentityKeyPair } from '../../../shared/e2ee/identity.ts';
import { createKeysMessage } from '../../../shared/e2ee/key-message.ts';
import { dhKeyPairFromSeed, type DhKeyPair } from '../../../shared/e2ee/primitives.ts';
import { createRoster, memberFromAnnouncement, type RosterMember, type VerifiedRoster } from '../../../shared/e2ee/roster.ts';
import { rosterDelta, type RosterDelta } from '../../../shared/e2ee/roster-delta.ts';
import { encodeMessage } from '../../../shared/e2ee/wire.ts';

const MEETING = { meetingId: 'schedule', instanceId: 'schedule-instance' };

/** u = 1 and u = 0: points of small order, every shared secret with them is all zero. */
export const SMALL_ORDER_KEYS = [Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0)), new Uint8Array(32)];

const [ZERO16, ZERO32, ZERO64] = [new Uint8Array(16), new Uint8Array(32), new Uint8Array(64)];

export class Forger {
  private readonly dh: DhKeyPair;
  // Per run, not per process: a cache shared between runs would skip rng draws and break replay by seed.
  private readonly oversized = new Map<string, string>();

  constructor(
    private readonly identity: IdentityKeyPair,
    private readonly rng: () => number,
  ) {
    this.dh = dhKeyPairFromSeed(this.bytes(32));
  }

  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => Math.floor(this.rng() * 256));
  }

  announce(participantId: string, dhKey: Uint8Array = this.dh.publicKey): Announcement {
    return createAnnouncement({ ...MEETING, participantId, name: 'Server', dhKey, nonce: this.bytes(16) }, this.identity);
  }

  /** A roster led by the server's participant, listing `others`; `padding` made-up members on top. */
  roster(leaderId: string, others: readonly Announcement[], epoch: number, padding = 0): string {
    // An oversized roster is refused before anyone reads its members: build each (leader, epoch) once per run.
    const key = `${leaderId}/${epoch}`;
    const cached = padding > 0 ? this.oversized.get(key) : undefined;
    if (cached) return cached;
    const payload = encodeMessage({ type: 'roster', roster: this.signedRoster(leaderId, others, epoch, padding).roster });
    if (padding > 0) this.oversized.set(key, payload);
    return payload;
  }

  /**
   * A delta following the honest roster `head`, adding the server's
   * participant: signed by the server ('signed'), naming a hash it does not
   * rebuild to ('mismatch'), or removing someone `head` lacks ('stray').
   */
  delta(leaderId: string, head: VerifiedRoster, epoch: number, kind: 'signed' | 'mismatch' | 'stray'): string {
    const r = head.roster;
    const members = [...r.members, memberFromAnnouncement(this.announce(leaderId))];
    const next = createRoster({ ...r, epoch: Math.max(epoch, r.epoch + 1), prevHash: head.hash, members }, this.identity);
    const d = rosterDelta(head, next);
    if (!d) throw new Error('unreachable: an appended member is always a delta');
    const forged: RosterDelta =
      kind === 'mismatch' ? { ...d, hash: this.bytes(32) } : kind === 'stray' ? { ...d, removed: [...d.removed, 'nobody-here'] } : d;
    return encodeMessage({ type: 'delta', delta: forged });
  }

  /** A key message sealing a fresh key to `others` under the server's roster (to one of them alone with `only`). */
  keys(leaderId: string, others: readonly Announcement[], epoch: number, only?: string): string {
    const roster = this.signedRoster(leaderId, others, epoch, 0);
    const to = only === undefined ? others : others.filter((a) => a.participantId === only);
    const recipients = to.map((a) => ({ participantId: a.participantId, dhKey: a.dhKey, echo: a.nonce }));
    const keys = createKeysMessage({
      roster,
      epochKey: this.bytes(32),
      recipients,
      identity: this.identity,
      random: this.bytes.bind(this),
    });
    return encodeMessage({ type: 'keys', keys });
  }

  private signedRoster(leaderId: string, others: readonly Announcement[], epoch: number, padding: number) {
    const members: RosterMember[] = [memberFromAnnouncement(this.announce(leaderId)), ...others.map(memberFromAnnouncement)];
    // Made-up members need no valid signature: nobody should get as far as checking them.
    for (let i = 0; i < padding; i++) {
      members.push({ participantId: `x${i}`, name: '', identityKey: ZERO32, dhKey: ZERO32, nonce: ZERO16, signature: ZERO64 });
    }
    return createRoster({ ...MEETING, epoch, prevHash: this.bytes(32), members }, this.identity);
  }
}
