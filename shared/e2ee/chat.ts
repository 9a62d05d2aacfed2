// Encrypted chat. Each epoch has a chat key derived from its epoch key, so
// exactly the roster members of that epoch can read its messages (a newcomer
// gets no earlier epoch key, hence no history). The chat key is shared by all
// members, so it alone would let any member write as any other: every message
// is also signed with the sender's identity key, checked against the roster.
//
//   chatKey = HKDF-SHA256(epochKey, salt = frame salt (meeting, instance, epoch),
//                         info = T(chat-key, v, meeting, instance, epoch))
//   ad      = T(chat-ad, v, meeting, instance, epoch, sender, seq)
//   box     = nonce24 || XChaCha20-Poly1305(chatKey, nonce24, pad(text), ad)
//   sig     = Ed25519(sender identity, T(chat, v, meeting, instance, epoch, sender, seq, box))
//
// The plaintext is padded to a multiple of 256 bytes, so the server learns
// size buckets, not exact lengths.

import type { MeetingContext } from './announcement.ts';
import { CONTEXT, E2EE_VERSION, LIMITS, SIZE } from './constants.ts';
import { transcript } from './encoding.ts';
import { fail, ok, type Result } from './errors.ts';
import { frameKeySalt, type EpochLabels } from './sender-keys.ts';
import { HkdfSha256 } from './hkdf.ts';
import type { IdentityKeyPair } from './identity.ts';
import { open, seal, sign, verify, type RandomBytes } from './primitives.ts';
import { rosterIndexOf, type Roster, type RosterMember, type VerifiedRoster } from './roster.ts';

export interface ChatMessage {
  meetingId: string;
  instanceId: string;
  epoch: number;
  senderId: string;
  /** Per-sender, 1, 2, … across epochs (never reset while connected): the replay check, and a skipped number shows a loss. */
  seq: number;
  /** AEAD nonce || ciphertext of the padded text. */
  box: Uint8Array;
  signature: Uint8Array;
}

export type ChatHeader = Omit<ChatMessage, 'box' | 'signature'>;

/** AEAD associated data: the header, so a box cannot move to another epoch, sender or position. */
export function chatAd(h: ChatHeader): Uint8Array {
  return transcript(CONTEXT.chatAd, { u32: E2EE_VERSION }, h.meetingId, h.instanceId, { u64: h.epoch }, h.senderId, { u64: h.seq });
}

/** What the sender signs: the header and the box. */
export function chatSignedBytes(m: Omit<ChatMessage, 'signature'>): Uint8Array {
  return transcript(CONTEXT.chat, { u32: E2EE_VERSION }, m.meetingId, m.instanceId, { u64: m.epoch }, m.senderId, { u64: m.seq }, m.box);
}

export function chatKeyInfo(l: EpochLabels): Uint8Array<ArrayBuffer> {
  return new Uint8Array(transcript(CONTEXT.chatKey, { u32: E2EE_VERSION }, l.meetingId, l.instanceId, { u64: l.epoch }));
}

/**
 * The epoch's chat key, from an HKDF extracted from the epoch key with
 * frameKeySalt(labels) (the frame keys' salt). Distinct HKDF info from every
 * frame key, so the two never coincide.
 */
export function chatKeyFrom(hkdf: HkdfSha256, labels: EpochLabels): Uint8Array {
  return hkdf.expand(SIZE.chatKey, chatKeyInfo(labels));
}

/** The epoch's chat key (HKDF-SHA256, salt frameKeySalt(labels), info chatKeyInfo(labels)). */
export async function deriveChatKey(epochKey: Uint8Array, labels: EpochLabels): Promise<Uint8Array> {
  const hkdf = new HkdfSha256(epochKey, frameKeySalt(labels));
  try {
    return chatKeyFrom(hkdf, labels);
  } finally {
    hkdf.destroy();
  }
}

// ------------------------------------------------------------------ text and padding

const LONE_SURROGATE = /\p{Cs}/u;

/** 1-4000 UTF-16 units of well-formed text (what a sender may send and a receiver shows). */
export function checkChatText(text: unknown): Result<string> {
  if (typeof text !== 'string' || text.length === 0 || text.length > LIMITS.maxChatChars) {
    return fail('INVALID_ARGUMENT', `chat text must be 1-${LIMITS.maxChatChars} characters`);
  }
  // A lone surrogate would be sent as U+FFFD: what the receiver shows would differ from what was typed.
  if (LONE_SURROGATE.test(text)) return fail('INVALID_ARGUMENT', 'chat text is not well-formed Unicode');
  return ok(text);
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Largest padded plaintext: 4-byte length + 4000 UTF-16 units as UTF-8 (≤ 3 bytes each), rounded up. */
export const MAX_CHAT_PADDED = Math.ceil((4 + 3 * LIMITS.maxChatChars) / SIZE.chatPadBlock) * SIZE.chatPadBlock;

function pad(text: string): Uint8Array {
  const bytes = utf8.encode(text);
  const out = new Uint8Array(Math.ceil((4 + bytes.length) / SIZE.chatPadBlock) * SIZE.chatPadBlock);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

function unpad(padded: Uint8Array): string | undefined {
  if (padded.length < 4 || padded.length % SIZE.chatPadBlock !== 0) return undefined;
  const length = new DataView(padded.buffer, padded.byteOffset, padded.byteLength).getUint32(0);
  if (length > padded.length - 4 || padded.subarray(4 + length).some((b) => b !== 0)) return undefined;
  try {
    return strictUtf8.decode(padded.subarray(4, 4 + length));
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ sealing and opening

export interface ChatInput extends MeetingContext {
  epoch: number;
  senderId: string;
  seq: number;
  text: string;
  chatKey: Uint8Array;
  identity: IdentityKeyPair;
  random: RandomBytes;
}

export function createChat(input: ChatInput): ChatMessage {
  const header: ChatHeader = {
    meetingId: input.meetingId,
    instanceId: input.instanceId,
    epoch: input.epoch,
    senderId: input.senderId,
    seq: input.seq,
  };
  const plain = pad(input.text);
  const box = seal(plain, chatAd(header), input.chatKey, input.random);
  plain.fill(0);
  const unsigned = { ...header, box };
  return { ...unsigned, signature: sign(chatSignedBytes(unsigned), input.identity.privateKey) };
}

export interface ChatCheck extends MeetingContext {
  /** Relay sender. */
  from: string;
  /** Our verified roster for the message's epoch, if we still hold it. */
  roster: VerifiedRoster | undefined;
  /** That epoch's chat key, if we hold it (never had it, or retired: undefined). */
  chatKey: Uint8Array | undefined;
  /** Our newest verified roster: someone removed since cannot keep posting under an older key. */
  current: Roster | null;
  /** Highest sequence number accepted from this sender (0 before the first). */
  lastSeq: number;
}

export interface OpenedChat {
  sender: RosterMember;
  text: string;
}

export function openChat(m: ChatMessage, check: ChatCheck): Result<OpenedChat> {
  if (m.meetingId !== check.meetingId) return fail('WRONG_MEETING', `chat for meeting '${m.meetingId}'`);
  if (m.instanceId !== check.instanceId) return fail('WRONG_INSTANCE', 'chat for another instance of this meeting');
  if (m.senderId !== check.from) return fail('SENDER_MISMATCH', `chat from '${m.senderId}' relayed from '${check.from}'`);
  const roster = check.roster;
  if (!roster || roster.roster.epoch !== m.epoch || !check.chatKey)
    return fail('CHAT_UNKNOWN_EPOCH', `chat for epoch ${m.epoch}, whose key we do not hold`);
  const sender = roster.roster.members[rosterIndexOf(roster.roster, m.senderId)];
  if (!sender) return fail('CHAT_NOT_A_MEMBER', `chat from '${m.senderId}', not a member of epoch ${m.epoch}`);
  if (check.current && rosterIndexOf(check.current, m.senderId) < 0) {
    return fail('CHAT_NOT_A_MEMBER', `chat from '${m.senderId}', no longer a member (epoch ${check.current.epoch})`);
  }
  if (!verify(m.signature, chatSignedBytes(m), sender.identityKey))
    return fail('CHAT_BAD_SIGNATURE', `chat signature of '${m.senderId}' is invalid`);
  if (m.seq <= check.lastSeq) return fail('CHAT_REPLAY', `chat ${m.seq} from '${m.senderId}' is not after ${check.lastSeq}`);
  const padded = open(m.box, chatAd(m), check.chatKey);
  if (!padded) return fail('CHAT_DECRYPT_FAILED', `cannot decrypt chat ${m.seq} from '${m.senderId}' with the epoch ${m.epoch} chat key`);
  const text = unpad(padded);
  padded.fill(0);
  // Only a member can produce this (the box opened): a broken client, not the server.
  if (text === undefined || !checkChatText(text).ok)
    return fail('MALFORMED', `chat ${m.seq} from '${m.senderId}' has an invalid plaintext`);
  return ok({ sender, text });
}
