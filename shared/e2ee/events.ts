// Public types of MeetingKeyAgent: its options and the events it emits.

import type { E2eeErrorCode } from './errors.ts';
import type { IdentityKeyPair } from './identity.ts';
import type { RelaySeal } from './link.ts';
import type { RandomBytes } from './primitives.ts';

/**
 * - waiting-for-key: joined, no key yet (nothing is sent)
 * - lobby: a leader-signed message says we wait for admission (a hint, see protocol.md §9)
 * - ok: keyed and sending
 * - rekeying: keyed, but a change we learned of needs a newer epoch's key we did
 *   not get in time: NOT sending (send key cleared) until it arrives (protocol.md §7a)
 * - denied: a leader-signed message says we were refused (final for this connection)
 * - removed: a valid roster no longer lists us (final for this connection)
 * - stopped: stop() was called
 */
export type AgentState = 'waiting-for-key' | 'lobby' | 'ok' | 'rekeying' | 'denied' | 'removed' | 'stopped';

export interface ReceiveKeysEvent {
  epoch: number;
  /** Every other roster member's SFrame base key for this epoch. */
  senders: { participantId: string; kid: bigint; baseKey: Uint8Array }[];
}
export interface SendKeyEvent {
  epoch: number;
  kid: bigint;
  baseKey: Uint8Array;
}
export interface RetireEpochEvent {
  epoch: number;
}
export interface RosterMemberView {
  participantId: string;
  /** The display name the member signed in its own announcement ('' if none). */
  name: string;
  identityKey: Uint8Array;
  fingerprint: string;
  isLeader: boolean;
}
export interface RosterEvent {
  epoch: number;
  /** Verified members in join order: exactly the holders of this epoch's key. */
  members: RosterMemberView[];
  securityCode: string;
  /** The leader-signed lock state of this epoch. */
  locked: boolean;
}
/** Who signed a lobby or denial message (unverifiable for a newcomer: show the fingerprint). */
export interface DecidedBy {
  participantId: string;
  fingerprint: string;
}
export interface StatusEvent {
  state: AgentState;
  /** The epoch we send with, once there is one. */
  epoch?: number;
  /** For 'lobby' and 'denied': who signed the message. */
  by?: DecidedBy;
  /**
   * For 'removed': the leader removed us, or dropped us because it was told we left.
   * For 'rekeying': what told us of the change whose key we lack.
   */
  reason?: 'removed-by-leader' | 'dropped' | RekeyReason;
}
/** What told a member that the epoch it sends with is outdated. */
export type RekeyReason = 'newer-roster' | 'unknown-commit' | 'member-left';
/** The send key is gone: drop outbound frames until the next send-key event. */
export interface StopSendingEvent {
  /** The epoch we stopped sending with. */
  epoch: number;
  /** The epoch whose key we wait for. */
  waitingFor: number;
  reason: RekeyReason;
}
export interface ErrorEvent {
  code: E2eeErrorCode;
  message: string;
  /** Relay sender of the rejected message, when it came from the relay. */
  from?: string;
}
export interface LobbyEntry {
  participantId: string;
  /** Self-chosen, self-signed: anyone can call themselves anything. Show the fingerprint too. */
  name: string;
  fingerprint: string;
}
/** Leader only: the lock state it enforces and who waits for a decision, oldest first. */
export interface LobbyEvent {
  locked: boolean;
  waiting: LobbyEntry[];
}
export interface ChatEvent {
  /** Sender's participant ID; its signature was verified against that epoch's roster. */
  from: string;
  /** Sender's signed display name from that roster. */
  name: string;
  fingerprint: string;
  text: string;
  epoch: number;
  seq: number;
  /** Local receive (or send) time, ms: senders' clocks are not trusted. */
  at: number;
  /** Our own message, echoed so the UI can show one stream. */
  own: boolean;
}
/**
 * Chat messages from one sender that never reached us, or reached us but could
 * not be opened: its signed counter skipped them. Counted from the first
 * message we accepted from that sender, so nothing it sent before we joined counts.
 */
export interface ChatGapEvent {
  /** Sender's participant ID (its name is in the verified roster). */
  from: string;
  /** How many of its messages are missing just before `seq`. */
  count: number;
  /** Epoch and sequence number of the message that showed the gap; its `chat` event follows. */
  epoch: number;
  seq: number;
  /** Local time, ms. */
  at: number;
}

export interface AgentEvents {
  'receive-keys': ReceiveKeysEvent;
  'send-key': SendKeyEvent;
  'stop-sending': StopSendingEvent;
  'retire-epoch': RetireEpochEvent;
  roster: RosterEvent;
  status: StatusEvent;
  lobby: LobbyEvent;
  chat: ChatEvent;
  'chat-gap': ChatGapEvent;
  error: ErrorEvent;
  outsider: OutsiderEvent;
  link: LinkEvent;
}

/**
 * The leader replaced the meeting link (or, as leader, we did): from now on we
 * seal with `secret`, and the old link admits nobody new. The page puts the
 * new secret in its URL so Invite and a reload use it.
 */
export interface LinkEvent {
  /** The new secret, base64url, as it goes in `#s=`. */
  secret: string;
  /** The epoch it came with. */
  epoch: number;
  leaderId: string;
}

/**
 * A participant whose payloads our meeting link does not open (outside: true),
 * or one that later proved it holds the link (outside: false). Outsiders hold
 * another link for this meeting ID, or are the server's own participants.
 */
export interface OutsiderEvent {
  participantId: string;
  outside: boolean;
  /** Why (outside only): no link of ours opens its payloads, or only one the leader replaced. */
  reason?: 'no-link' | 'link-retired';
}

export type TimerHandle = unknown;

export interface AgentTiming {
  batchMs: number;
  commitTimeoutMs: number;
  retireAfterMs: number;
  orphanTimeoutMs: number;
  silentAheadMs: number;
  keyWaitMs: number;
  resendRetryMs: number;
  passOverMs: number;
  resendAttempts: number;
  resendMinIntervalMs: number;
  reannounceMs: number;
  reannounceAttempts: number;
}

export interface AgentOptions {
  meetingId: string;
  instanceId: string;
  selfId: string;
  identity: IdentityKeyPair;
  /** Shown to the others next to our fingerprint; ≤ 64 characters, see checkDisplayName. */
  displayName?: string;
  /** Relay a payload to one participant, or to everyone else when `to` is null. */
  send: (to: string | null, payload: string) => void;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => TimerHandle;
  clearTimer?: (handle: TimerHandle) => void;
  random?: RandomBytes;
  timing?: Partial<AgentTiming>;
  /** Largest relay payload the server forwards; bigger messages are fragmented. */
  maxPayloadChars?: number;
  /**
   * The meeting link's envelope (link.ts LinkSeal): every payload we relay is
   * sealed with it, and a payload it does not open is dropped unread.
   */
  link: RelaySeal;
  /** The envelope for a new link the leader issues (default: LinkSeal for this meeting instance). */
  newLink?: (secret: Uint8Array) => RelaySeal;
  /**
   * TEST BUILDS ONLY. Called with a copy of every secret the agent creates or
   * receives (epoch keys, chat keys, its X25519 private keys, each key
   * message's sender private key, wrap keys), so a
   * test can search the server's capture for them. Production never passes it.
   */
  onSecretForTest?: (label: string, bytes: Uint8Array) => void;
}
