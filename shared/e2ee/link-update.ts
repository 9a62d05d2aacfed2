// The leader's "new link" (protocol.md §2a.3): a replacement for a meeting
// link that leaked. The new secret travels boxed under a key derived from an
// epoch key, so only members keyed for that epoch (never the server, never a
// member removed before it) can read it, and signed by that epoch's leader, so
// nobody else can hand members a link of their own. Pure and synchronous.

import { CONTEXT, E2EE_VERSION, SIZE } from './constants.ts';
import { transcript } from './encoding.ts';
import { fail, ok, type Result } from './errors.ts';
import type { HkdfSha256 } from './hkdf.ts';
import type { IdentityKeyPair } from './identity.ts';
import { open, seal, sign, verify, wipe, type RandomBytes } from './primitives.ts';
import { rosterLeader, type VerifiedRoster } from './roster.ts';
import type { EpochLabels } from './sender-keys.ts';

/** Secret sizes a link may carry: 22 to 86 base64url characters. */
export const LINK_SECRET_MIN_BYTES = 16;
export const LINK_SECRET_MAX_BYTES = 64;
/** Nonce (24) + secret (at most 64) + tag (16). */
export const LINK_UPDATE_MAX_BOX = 24 + LINK_SECRET_MAX_BYTES + 16;

export interface LinkUpdate {
  meetingId: string;
  instanceId: string;
  /** The epoch whose key boxes the secret: members keyed for it can read it. */
  epoch: number;
  leaderId: string;
  /** nonce24 ‖ XChaCha20-Poly1305(linkUpdateKey, secret, ad). */
  box: Uint8Array;
  signature: Uint8Array;
}

type Unsigned = Omit<LinkUpdate, 'signature'>;

/** The epoch's link-update key, from the same HKDF-Extract as its frame and chat keys (key-ring.ts). */
export function linkUpdateKeyFrom(hkdf: HkdfSha256, l: EpochLabels): Uint8Array {
  return hkdf.expand(32, transcript(CONTEXT.linkUpdateKey, { u32: E2EE_VERSION }, l.meetingId, l.instanceId, { u64: l.epoch }));
}

function boxAd(u: Omit<Unsigned, 'box'>): Uint8Array {
  return transcript(CONTEXT.linkUpdateAd, { u32: E2EE_VERSION }, u.meetingId, u.instanceId, { u64: u.epoch }, u.leaderId);
}

function signedBytes(u: Unsigned): Uint8Array {
  return transcript(CONTEXT.linkUpdate, { u32: E2EE_VERSION }, u.meetingId, u.instanceId, { u64: u.epoch }, u.leaderId, u.box);
}

export interface NewLink {
  meetingId: string;
  instanceId: string;
  epoch: number;
  leaderId: string;
  secret: Uint8Array;
  /** The epoch's link-update key. */
  key: Uint8Array;
}

export function createLinkUpdate(n: NewLink, identity: IdentityKeyPair, random: RandomBytes): LinkUpdate {
  const head = { meetingId: n.meetingId, instanceId: n.instanceId, epoch: n.epoch, leaderId: n.leaderId };
  const unsigned = { ...head, box: seal(n.secret, boxAd(head), n.key, random) };
  return { ...unsigned, signature: sign(signedBytes(unsigned), identity.privateKey) };
}

export interface LinkUpdateCheck {
  meetingId: string;
  instanceId: string;
  from: string;
  /** Our verified roster for the update's epoch, if we hold it. */
  roster: VerifiedRoster | undefined;
  /** The epoch's link-update key, if we hold the epoch's keys. */
  key: Uint8Array | undefined;
}

/** The new secret, once the update proves to come from the epoch's leader and opens with the epoch's key. */
export function openLinkUpdate(u: LinkUpdate, check: LinkUpdateCheck): Result<Uint8Array> {
  if (u.meetingId !== check.meetingId) return fail('WRONG_MEETING', `new link for meeting '${u.meetingId}'`);
  if (u.instanceId !== check.instanceId) return fail('WRONG_INSTANCE', 'new link for another instance of this meeting');
  const roster = check.roster;
  if (!roster || roster.roster.epoch !== u.epoch || !check.key) {
    return fail('UNKNOWN_EPOCH', `new link under epoch ${u.epoch}, whose keys we do not hold`);
  }
  const leader = rosterLeader(roster.roster);
  if (u.leaderId !== leader.participantId || check.from !== leader.participantId) {
    return fail('NOT_LEADER', `new link from '${check.from}' for epoch ${u.epoch}, led by '${leader.participantId}'`);
  }
  if (u.signature.length !== SIZE.signature || !verify(u.signature, signedBytes(u), leader.identityKey)) {
    return fail('BAD_SIGNATURE', `new link signature for epoch ${u.epoch} is invalid`);
  }
  const secret = open(u.box, boxAd(u), check.key);
  if (!secret) return fail('DECRYPT_FAILED', `new link for epoch ${u.epoch} does not open with the epoch's key`);
  if (secret.length < LINK_SECRET_MIN_BYTES || secret.length > LINK_SECRET_MAX_BYTES) {
    wipe(secret);
    return fail('MALFORMED', `new link secret of ${secret.length} bytes`);
  }
  return ok(secret);
}
