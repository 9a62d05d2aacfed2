// A participant the server plays itself, with key pairs it holds: used by
// attacks that try to get a leader to key the server (ghost, swap-resign).
// It follows the rosters relayed through the server, opens any key-message
// entry addressed to it, acks like a real member (so the leader commits at
// once and nothing looks slow) and hands the epoch key to a MediaSpy, which
// decrypts the meeting's audio as evidence.

import { createAck } from '../../shared/e2ee/ack.ts';
import { createAnnouncement, type Announcement } from '../../shared/e2ee/announcement.ts';
import { decodeMessage, encodeMessage } from '../../shared/e2ee/wire.ts';
import { generateIdentity, type IdentityKeyPair } from '../../shared/e2ee/identity.ts';
import { onlyKey, openKeysMessage } from '../../shared/e2ee/key-message.ts';
import { dhKeyPairFromSeed, systemRandom, type DhKeyPair } from '../../shared/e2ee/primitives.ts';
import type { VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { WireRosters } from '../wire-rosters.ts';
import type { Participant, Room } from '../../server/room.ts';
import type { AttackStats, Delivery } from './common.ts';
import { MediaSpy } from './spy.ts';

export class Impostor {
  readonly identity: IdentityKeyPair = generateIdentity();
  readonly dh: DhKeyPair = dhKeyPairFromSeed(systemRandom(32));
  /** Liveness nonces issued: the announcement's, then one per ack. */
  private readonly nonces: Uint8Array[] = [systemRandom(16)];
  private lastKeyEpoch = 0;
  private readonly rosters = new Map<number, VerifiedRoster>();
  private readonly wire = new WireRosters();
  readonly spy: MediaSpy;

  constructor(
    private readonly room: Room,
    readonly id: string,
    private readonly stats: AttackStats,
  ) {
    this.spy = new MediaSpy(room, stats);
  }

  /**
   * A validly signed announcement for this impostor's ID with the server's
   * keys. `base` supplies other fields (e.g. a signed display name) to copy.
   */
  announcement(base: Partial<Announcement> & { name?: string } = {}): Announcement {
    const { signature: _s, identityKey: _i, dhKey: _d, nonce: _n, participantId: _p, meetingId: _m, instanceId: _in, ...rest } = base;
    return createAnnouncement(
      {
        ...rest,
        meetingId: this.room.meetingId,
        instanceId: this.room.instanceId,
        participantId: this.id,
        dhKey: this.dh.publicKey,
        nonce: this.nonces[0]!,
      },
      this.identity,
    );
  }

  /** Call for every relayed payload; returns what to deliver in addition (an ack as the impostor). */
  observe(from: Participant, payload: string): Delivery[] {
    const m = decodeMessage(payload);
    if (!m.ok) return [];
    if (m.value.type === 'roster' || m.value.type === 'delta') {
      // A delta is rebuilt from the roster before, as a member does (the leader's signature is the members' to check).
      const v = this.wire.add(m.value);
      if (!v) return [];
      this.rosters.set(v.roster.epoch, v);
      if (v.roster.members.some((x) => x.participantId === this.id)) this.stats.bump('rosters-listing-impostor');
      return [];
    }
    if (m.value.type !== 'keys' || !m.value.keys.entries.some((e) => e.to === this.id)) return [];
    const k = m.value.keys;
    this.stats.bump('key-entries-for-impostor');
    const opened = openKeysMessage(k, {
      meetingId: this.room.meetingId,
      instanceId: this.room.instanceId,
      selfId: this.id,
      from: from.id,
      roster: this.rosters.get(k.epoch),
      lastEpoch: this.lastKeyEpoch,
      dhFor: onlyKey(this.dh),
      acceptableEchoes: this.nonces,
    });
    if (!opened.ok) {
      this.stats.note(`could not open the key entry for ${this.id} in epoch ${k.epoch}: ${opened.error.code}`);
      return [];
    }
    this.lastKeyEpoch = k.epoch;
    this.stats.bump('keys-obtained');
    this.stats.note(`obtained the epoch ${k.epoch} key as ${this.id}`);
    const members = opened.value.roster.roster.members.map((x) => x.participantId);
    void this.spy
      .addEpochKey(k.epoch, opened.value.epochKey.slice(), members)
      .catch((e: unknown) => this.stats.note(`spy failed: ${String(e)}`));
    const nonce = systemRandom(16);
    this.nonces.push(nonce);
    const ack = createAck(
      {
        meetingId: this.room.meetingId,
        instanceId: this.room.instanceId,
        epoch: k.epoch,
        participantId: this.id,
        rosterHash: opened.value.roster.hash,
        nonce,
      },
      this.identity,
    );
    this.stats.bump('impostor-acks');
    return [{ to: from.id, payload: encodeMessage({ type: 'ack', ack }), as: this.id }];
  }

  close(): void {
    this.spy.close();
  }
}
