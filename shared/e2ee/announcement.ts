// A participant's signed announcement: "in this meeting instance, participant
// P, calling itself NAME, holds identity key I and per-meeting X25519 key D,
// and is live as of nonce N". The name is what the roster shows: each
// participant signs its own, so neither the server nor the leader can rename it.

import { CONTEXT, E2EE_VERSION } from './constants.ts';
import { checkDhPublicKey } from './dh-key.ts';
import { checkDisplayName } from './display-name.ts';
import { constantTimeEqual } from '../bytes.ts';
import { transcript } from './encoding.ts';
import { fail, ok, type Result } from './errors.ts';
import type { IdentityKeyPair } from './identity.ts';
import { sign, verify } from './primitives.ts';

export interface Announcement {
  meetingId: string;
  instanceId: string;
  participantId: string;
  /** Display name chosen by the participant (checkDisplayName), '' if none. */
  name: string;
  identityKey: Uint8Array;
  dhKey: Uint8Array;
  nonce: Uint8Array;
  signature: Uint8Array;
}

export type UnsignedAnnouncement = Omit<Announcement, 'signature'>;

export interface MeetingContext {
  meetingId: string;
  instanceId: string;
}

/** Asked before each signature check, charged to whoever made us run it; false means over budget (RATE_LIMITED). */
export type SpendCheck = () => boolean;

export function announcementBytes(a: UnsignedAnnouncement): Uint8Array {
  return transcript(
    CONTEXT.announce,
    { u32: E2EE_VERSION },
    a.meetingId,
    a.instanceId,
    a.participantId,
    a.name,
    a.identityKey,
    a.dhKey,
    a.nonce,
  );
}

export type AnnouncementFields = Omit<UnsignedAnnouncement, 'identityKey' | 'name'> & { name?: string };

export function createAnnouncement(fields: AnnouncementFields, identity: IdentityKeyPair): Announcement {
  const unsigned = { ...fields, name: fields.name ?? '', identityKey: identity.publicKey };
  return { ...unsigned, signature: sign(announcementBytes(unsigned), identity.privateKey) };
}

/**
 * Announcements whose signature verified, keyed by exactly what the check
 * covers (signed bytes, signature, identity key), so each distinct
 * announcement is verified once: on receipt, and not again when a roster
 * carries it. Only successes are kept; a receiver keeps its own (bounded) set.
 */
export class VerifiedAnnouncements {
  private readonly seen = new Set<string>();

  constructor(private readonly max: number) {}

  /** The cache key: the exact inputs of the signature check, as a byte string. */
  static key(signed: Uint8Array, a: Pick<Announcement, 'signature' | 'identityKey'>): string {
    const parts = [signed, a.signature, a.identityKey];
    let out = '';
    for (const p of parts) {
      out += String.fromCharCode(p.length >>> 8, p.length & 0xff);
      for (let i = 0; i < p.length; i += 4096) out += String.fromCharCode(...p.subarray(i, i + 4096));
    }
    return out;
  }

  has(key: string): boolean {
    return this.seen.has(key);
  }

  add(key: string): void {
    // Oldest first out: a Set iterates in insertion order.
    if (this.seen.size >= this.max) this.seen.delete(this.seen.values().next().value as string);
    this.seen.add(key);
  }
}

/**
 * Checks an announcement belongs to this meeting instance, speaks for the
 * participant the server relayed it from (when known), carries an X25519 key
 * we can seal to (checkDhPublicKey), and is signed by the identity key it
 * names. With `verified`, a signature already verified over the same bytes
 * with the same key is not checked again (every other check is). The cheap
 * checks come first; `spend`, if given, is asked before the signature check.
 */
export function verifyAnnouncement(
  a: Announcement,
  ctx: MeetingContext & { from?: string; spend?: SpendCheck },
  verified?: VerifiedAnnouncements,
): Result<Announcement> {
  if (a.meetingId !== ctx.meetingId) return fail('WRONG_MEETING', `announcement for meeting '${a.meetingId}'`);
  if (a.instanceId !== ctx.instanceId) return fail('WRONG_INSTANCE', 'announcement for another instance of this meeting');
  if (ctx.from !== undefined && a.participantId !== ctx.from) {
    return fail('SENDER_MISMATCH', `announcement for '${a.participantId}' relayed from '${ctx.from}'`);
  }
  // The codec already refuses such names; this keeps the check with the signature for in-memory callers.
  if (!checkDisplayName(a.name).ok) return fail('MALFORMED', `announcement of '${a.participantId}' carries an invalid display name`);
  const dh = checkDhPublicKey(a.dhKey, `X25519 key of '${a.participantId}'`);
  if (!dh.ok) return dh;
  const signed = announcementBytes(a);
  const key = verified && VerifiedAnnouncements.key(signed, a);
  if (key !== undefined && verified?.has(key)) return ok(a);
  if (ctx.spend && !ctx.spend()) {
    return fail('RATE_LIMITED', `too many signature checks for '${ctx.from ?? a.participantId}': announcement dropped`);
  }
  if (!verify(a.signature, signed, a.identityKey))
    return fail('BAD_SIGNATURE', `announcement signature of '${a.participantId}' is invalid`);
  if (key !== undefined) verified?.add(key);
  return ok(a);
}

export function sameAnnouncement(a: Announcement, b: Announcement): boolean {
  return (
    a.meetingId === b.meetingId &&
    a.instanceId === b.instanceId &&
    a.participantId === b.participantId &&
    a.name === b.name &&
    constantTimeEqual(a.identityKey, b.identityKey) &&
    constantTimeEqual(a.dhKey, b.dhKey) &&
    constantTimeEqual(a.nonce, b.nonce) &&
    constantTimeEqual(a.signature, b.signature)
  );
}
