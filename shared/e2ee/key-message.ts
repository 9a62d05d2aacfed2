// The key message: the leader's signed delivery of one epoch key to members.
// The format allows many entries per message; the leader sends each member a
// message with its own entry alone (sealKeyMessages), so what a member
// receives does not grow with the meeting (protocol.md §4.3). Each entry is the
// epoch key encrypted (XChaCha20-Poly1305, key from X25519 between a fresh
// sender key made for this message alone and the recipient's current epoch
// key, the `next` key of its last ack or else the key it announced) with
// associated data binding meeting, instance, epoch, leader, recipient, echoed
// liveness nonce and roster hash; the leader's signature covers the same
// fields, the sender key and each entry's recipient key.
//
// Post-compromise healing (finding 12): the sender's private key is erased as
// soon as the message is sealed, and each member erases its epoch keys once a
// newer one is used, so no long-lived X25519 key opens recorded key messages
// (the announced key still does, for a new leader's first epoch: docs/threat-model.md).

import type { SpendCheck } from './announcement.ts';
import { CONTEXT, E2EE_VERSION, SIZE } from './constants.ts';
import { constantTimeEqual } from '../bytes.ts';
import { transcript, type Field } from './encoding.ts';
import { E2eeError, fail, ok, type Result } from './errors.ts';
import type { IdentityKeyPair } from './identity.ts';
import { checkDhPublicKey } from './dh-key.ts';
import { isAcceptableEcho } from './liveness.ts';
import { dhKeyPairFromSeed, open, seal, sign, verify, wipe, wrapKey, type DhKeyPair, type RandomBytes } from './primitives.ts';
import { rosterLeader, type VerifiedRoster } from './roster.ts';

export interface KeyEntry {
  to: string;
  /** The recipient's liveness nonce this entry answers. */
  echo: Uint8Array;
  /** The recipient's X25519 public key this entry is sealed to (its current epoch key). */
  dh: Uint8Array;
  /** AEAD nonce || ciphertext of the 32-byte epoch key. */
  box: Uint8Array;
}

export interface KeysMessage {
  meetingId: string;
  instanceId: string;
  epoch: number;
  leaderId: string;
  rosterHash: Uint8Array;
  /** The X25519 public key made for this message alone (its private key is erased once the message is sealed). */
  senderDh: Uint8Array;
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
    m.senderDh,
    { u32: m.entries.length },
  ];
  for (const e of m.entries) fields.push(e.to, e.echo, e.dh, e.box);
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
  /** The recipient's current epoch key: the `next` of its last ack, else the key it announced. */
  dhKey: Uint8Array;
  /** Latest liveness nonce the leader knows for this recipient. */
  echo: Uint8Array;
}

export interface KeysInput {
  roster: VerifiedRoster;
  epochKey: Uint8Array;
  recipients: readonly KeyRecipient[];
  identity: IdentityKeyPair;
  /** Also makes the sender key pair, erased before this returns. */
  random: RandomBytes;
  /** Test builds only (AgentOptions.onSecretForTest): the sender's private key and each wrap key. */
  exportSecret?: (label: string, bytes: Uint8Array) => void;
}

/**
 * Seals the epoch key to every recipient under one fresh sender key pair and
 * signs the lot as one message, or fails with BAD_PUBLIC_KEY (naming the
 * first recipient whose key we refuse) and nothing else happens: a key message
 * is all or nothing. The leader leaves such recipients out before it gets here
 * (leader.ts). The sender's private key and the wrap keys are erased either way.
 */
export function sealKeysMessage(input: KeysInput): Result<KeysMessage> {
  const sealed = sealEntries(input);
  if (!sealed.ok) return sealed;
  const { header, entries } = sealed.value;
  const unsigned = { ...header, entries };
  return ok({ ...unsigned, signature: sign(signedBytes(unsigned), input.identity.privateKey) });
}

/**
 * As sealKeysMessage, but one message per recipient, holding its own entry
 * alone and signed for it: a member receives a constant size whatever the
 * meeting's. The entries share one sender key (each entry's AD names its
 * recipient); the checks a member makes on its entry are the same.
 */
export function sealKeyMessages(input: KeysInput): Result<Map<string, KeysMessage>> {
  const sealed = sealEntries(input);
  if (!sealed.ok) return sealed;
  const { header, entries } = sealed.value;
  const out = new Map<string, KeysMessage>();
  for (const entry of entries) {
    const unsigned = { ...header, entries: [entry] };
    out.set(entry.to, { ...unsigned, signature: sign(signedBytes(unsigned), input.identity.privateKey) });
  }
  return ok(out);
}

function sealEntries(input: KeysInput): Result<{ header: Omit<UnsignedKeys, 'entries'>; entries: KeyEntry[] }> {
  const r = input.roster.roster;
  const sender = dhKeyPairFromSeed(input.random(32));
  input.exportSecret?.(`X25519 sender private key for epoch ${r.epoch}`, sender.privateKey);
  const header = {
    meetingId: r.meetingId,
    instanceId: r.instanceId,
    epoch: r.epoch,
    leaderId: rosterLeader(r).participantId,
    rosterHash: input.roster.hash,
    senderDh: sender.publicKey,
  };
  const entries: KeyEntry[] = [];
  try {
    for (const rec of input.recipients) {
      const sound = checkDhPublicKey(rec.dhKey, `X25519 key of '${rec.participantId}'`);
      if (!sound.ok) return sound;
      const wk = wrapKey(sender.publicKey, rec.dhKey, rec.dhKey, sender.privateKey);
      if (!wk) return fail('BAD_PUBLIC_KEY', `cannot derive a wrap key for '${rec.participantId}' (X25519 refused its key)`);
      input.exportSecret?.(`wrap key (lead) for '${rec.participantId}' in epoch ${r.epoch}`, wk);
      const box = seal(input.epochKey, entryAd(header, rec.participantId, rec.echo), wk, input.random);
      wipe(wk);
      entries.push({ to: rec.participantId, echo: rec.echo, dh: rec.dhKey, box });
    }
  } finally {
    wipe(sender.privateKey);
  }
  return ok({ header, entries });
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
  /**
   * Our X25519 key pair for the public key our entry names (entry.dh): the
   * one we announced, or one we sent as `next` in an ack and still hold.
   * Undefined if we do not hold it (erased, or never ours).
   */
  dhFor: (publicKey: Uint8Array) => DhKeyPair | undefined;
  /** Liveness nonces we would accept an echo of. */
  acceptableEchoes: readonly Uint8Array[];
  /** Tests only: derive the wrap key some other way (an attacker holding some private key). */
  wrapKeyFor?: (senderDh: Uint8Array, recipientDh: Uint8Array) => Uint8Array | undefined;
  /** Test builds only (AgentOptions.onSecretForTest): the wrap key. */
  exportSecret?: (label: string, bytes: Uint8Array) => void;
  /** Asked before the signature check, charged to the relay sender. */
  spend?: SpendCheck;
  /** Participants the server reported gone: a key message from one of them is refused unchecked. */
  departed?: ReadonlySet<string>;
}

export interface OpenedKeys {
  epoch: number;
  epochKey: Uint8Array;
  echo: Uint8Array;
  /** Which of our X25519 public keys opened it (entry.dh). */
  dhKey: Uint8Array;
  /** The verified roster this key belongs to. */
  roster: VerifiedRoster;
}

/** A check's key lookup for one key pair (tests, and participants that never rotate their key). */
export function onlyKey(dh: DhKeyPair): (publicKey: Uint8Array) => DhKeyPair | undefined {
  return (publicKey) => (constantTimeEqual(publicKey, dh.publicKey) ? dh : undefined);
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
  const senderKey = checkDhPublicKey(m.senderDh, `sender key of the key message for epoch ${m.epoch}`);
  if (!senderKey.ok) return senderKey;
  let wk: Uint8Array | undefined;
  if (check.wrapKeyFor) wk = check.wrapKeyFor(m.senderDh, entry.dh);
  else {
    const own = check.dhFor(entry.dh);
    if (!own) return fail('DECRYPT_FAILED', `the key for epoch ${m.epoch} is sealed to an X25519 key we do not hold`);
    wk = wrapKey(m.senderDh, own.publicKey, m.senderDh, own.privateKey);
  }
  if (wk) check.exportSecret?.(`wrap key (member) for epoch ${m.epoch}`, wk);
  const key = wk && open(entry.box, entryAd(m, entry.to, entry.echo), wk);
  if (wk) wipe(wk);
  if (!key || key.length !== SIZE.epochKey) return fail('DECRYPT_FAILED', `cannot decrypt the key for epoch ${m.epoch}`);
  return ok({ epoch: m.epoch, epochKey: key, echo: entry.echo, dhKey: entry.dh, roster });
}
