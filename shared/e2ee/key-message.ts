// The key message: the leader's signed delivery of one epoch key to members.
// One message may carry entries for many recipients (normally all of them, as
// one broadcast, to stay within the server's message rate). Each entry is the
// epoch key encrypted (XChaCha20-Poly1305, key from X25519 between the
// leader's and the recipient's per-meeting keys) with associated data binding
// meeting, instance, epoch, leader, recipient, echoed liveness nonce and roster
// hash; the leader's signature covers the same fields for every entry.

import type { SpendCheck } from './announcement.ts';
import { CONTEXT, E2EE_VERSION, SIZE } from './constants.ts';
import { constantTimeEqual } from '../bytes.ts';
import { transcript, type Field } from './encoding.ts';
import { E2eeError, fail, ok, type Result } from './errors.ts';
import type { IdentityKeyPair } from './identity.ts';
import { isAcceptableEcho } from './liveness.ts';
import { open, seal, sign, verify, wrapKey, type DhKeyPair, type RandomBytes } from './primitives.ts';
import { rosterLeader, type VerifiedRoster } from './roster.ts';

export interface KeyEntry {
  to: string;
  /** The recipient's liveness nonce this entry answers. */
  echo: Uint8Array;
  /** AEAD nonce || ciphertext of the 32-byte epoch key. */
  box: Uint8Array;
}

export interface KeysMessage {
  meetingId: string;
  instanceId: string;
  epoch: number;
  leaderId: string;
  rosterHash: Uint8Array;
  entries: KeyEntry[];
  signature: Uint8Array;
}

type UnsignedKeys = Omit<KeysMessage, 'signature'>;

function signedBytes(m: UnsignedKeys): Uint8Array {
  const fields: Field[] = [
    CONTEXT.keys,
    { u32: E2EE_VERSION },
    m.meetingId,
    m.instanceId,
    { u64: m.epoch },
    m.leaderId,
    m.rosterHash,
    { u32: m.entries.length },
  ];
  for (const e of m.entries) fields.push(e.to, e.echo, e.box);
  return transcript(...fields);
}

function entryAd(m: Omit<UnsignedKeys, 'entries'>, to: string, echo: Uint8Array): Uint8Array {
  return transcript(
    CONTEXT.keyEntryAd,
    { u32: E2EE_VERSION },
    m.meetingId,
    m.instanceId,
    { u64: m.epoch },
    m.leaderId,
    to,
    echo,
    m.rosterHash,
  );
}

export interface KeyRecipient {
  participantId: string;
  dhKey: Uint8Array;
  /** Latest liveness nonce the leader knows for this recipient. */
  echo: Uint8Array;
}

export interface KeysInput {
  roster: VerifiedRoster;
  epochKey: Uint8Array;
  recipients: readonly KeyRecipient[];
  identity: IdentityKeyPair;
  dh: DhKeyPair;
  random: RandomBytes;
  /** Optional cache of wrap keys per peer X25519 key: the DH is the costly part. */
  wrapKeyFor?: (recipientDhKey: Uint8Array) => Uint8Array | undefined;
}

/**
 * Seals the epoch key to every recipient and signs the lot, or fails with
 * BAD_PUBLIC_KEY (naming the first recipient we cannot derive a wrap key
 * for) and nothing else happens: a key message is all or nothing. The leader
 * leaves such recipients out before it gets here (leader.ts).
 */
export function sealKeysMessage(input: KeysInput): Result<KeysMessage> {
  const r = input.roster.roster;
  const header = {
    meetingId: r.meetingId,
    instanceId: r.instanceId,
    epoch: r.epoch,
    leaderId: rosterLeader(r).participantId,
    rosterHash: input.roster.hash,
  };
  const entries: KeyEntry[] = [];
  for (const rec of input.recipients) {
    const wk = input.wrapKeyFor?.(rec.dhKey) ?? wrapKey(input.dh.publicKey, rec.dhKey, rec.dhKey, input.dh.privateKey);
    if (!wk) return fail('BAD_PUBLIC_KEY', `cannot derive a wrap key for '${rec.participantId}' (X25519 refused its key)`);
    const box = seal(input.epochKey, entryAd(header, rec.participantId, rec.echo), wk, input.random);
    entries.push({ to: rec.participantId, echo: rec.echo, box });
  }
  const unsigned = { ...header, entries };
  return ok({ ...unsigned, signature: sign(signedBytes(unsigned), input.identity.privateKey) });
}

/** sealKeysMessage for callers that know every recipient's key is sound (tests); throws its error otherwise. */
export function createKeysMessage(input: KeysInput): KeysMessage {
  const sealed = sealKeysMessage(input);
  if (!sealed.ok) throw new E2eeError(sealed.error.code, sealed.error.message);
  return sealed.value;
}

export interface KeysCheck {
  meetingId: string;
  instanceId: string;
  selfId: string;
  /** Relay sender. */
  from: string;
  /** The verified roster we hold for this message's epoch, if any. */
  roster: VerifiedRoster | undefined;
  /** Highest epoch whose key we already accepted (0 before the first). */
  lastEpoch: number;
  /** Our per-meeting X25519 key pair. */
  dh: DhKeyPair;
  /** Liveness nonces we would accept an echo of. */
  acceptableEchoes: readonly Uint8Array[];
  wrapKeyFor?: (leaderDhKey: Uint8Array) => Uint8Array | undefined;
  /** Asked before the signature check, charged to the relay sender. */
  spend?: SpendCheck;
  /** Participants the server reported gone: a key message from one of them is refused unchecked. */
  departed?: ReadonlySet<string>;
}

export interface OpenedKeys {
  epoch: number;
  epochKey: Uint8Array;
  echo: Uint8Array;
  /** The verified roster this key belongs to. */
  roster: VerifiedRoster;
}

export function openKeysMessage(m: KeysMessage, check: KeysCheck): Result<OpenedKeys> {
  if (m.meetingId !== check.meetingId) return fail('WRONG_MEETING', `key message for meeting '${m.meetingId}'`);
  if (m.instanceId !== check.instanceId) return fail('WRONG_INSTANCE', 'key message for another instance of this meeting');
  if (m.epoch <= check.lastEpoch) return fail('STALE_EPOCH', `key message epoch ${m.epoch} is not after ${check.lastEpoch}`);
  const roster = check.roster;
  if (!roster || roster.roster.epoch !== m.epoch) return fail('UNKNOWN_EPOCH', `no verified roster for epoch ${m.epoch}`);
  const leader = rosterLeader(roster.roster);
  if (m.leaderId !== leader.participantId || check.from !== leader.participantId) {
    return fail('NOT_LEADER', `key message from '${check.from}' for epoch ${m.epoch}, led by '${leader.participantId}'`);
  }
  // The server relays in order, so a leader's own key messages all arrive before the notice that it left.
  if (check.departed?.has(check.from)) return fail('NOT_LEADER', `key message from '${check.from}', who has left`);
  if (!constantTimeEqual(m.rosterHash, roster.hash))
    return fail('ROSTER_MISMATCH', `key message names another roster for epoch ${m.epoch}`);
  // Keys go to roster members only: an entry for anyone else would be a listener nobody sees.
  const memberIds = new Set(roster.roster.members.map((x) => x.participantId));
  const outsider = m.entries.find((e) => e.to === leader.participantId || !memberIds.has(e.to));
  if (outsider) return fail('NOT_A_MEMBER', `key message for epoch ${m.epoch} has a key for '${outsider.to}', who is not a member`);
  const entry = m.entries.find((e) => e.to === check.selfId);
  if (!entry) return fail('WRONG_RECIPIENT', `key message for epoch ${m.epoch} has no key for us`);
  // Everything above is free; the signature is the first costly check.
  if (check.spend && !check.spend()) return fail('RATE_LIMITED', `too many signature checks for '${check.from}': key message dropped`);
  if (!verify(m.signature, signedBytes(m), leader.identityKey))
    return fail('BAD_SIGNATURE', `key message signature for epoch ${m.epoch} is invalid`);
  if (!isAcceptableEcho(entry.echo, check.acceptableEchoes))
    return fail('STALE_NONCE', `key message for epoch ${m.epoch} echoes a stale liveness nonce`);
  const wk = check.wrapKeyFor?.(leader.dhKey) ?? wrapKey(leader.dhKey, check.dh.publicKey, leader.dhKey, check.dh.privateKey);
  const key = wk && open(entry.box, entryAd(m, entry.to, entry.echo), wk);
  if (!key || key.length !== SIZE.epochKey) return fail('DECRYPT_FAILED', `cannot decrypt the key for epoch ${m.epoch}`);
  return ok({ epoch: m.epoch, epochKey: key, echo: entry.echo, roster });
}
