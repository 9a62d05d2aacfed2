// Protocol constants: version, domain-separation contexts, sizes and default timings.

import { MAX_DISPLAY_NAME } from '../display-name.ts';
import { LIMITS as SIGNALING_LIMITS } from '../protocol/signaling.ts';

/**
 * 2: the KID names the media source (kid.ts); version 1 clients read such KIDs wrongly, so they are refused by version.
 * 3: continuing members get roster deltas (roster-delta.ts), which version 2 clients do not know.
 * 4: rosters list their unacked members, whom failover skips (roster.ts); version 3 clients would pick another leader.
 * 5: rosters say whether their chain is provisional (roster.ts), whose members move to an older chain; version 4 clients would not.
 */
export const E2EE_VERSION = 5;

/**
 * Every signature, hash, KDF and AEAD input starts with one of these, so a
 * signature made for one message type can never verify as another.
 */
export const CONTEXT = {
  announce: 'e2ee-meet/v1/announce',
  rosterHash: 'e2ee-meet/v1/roster-hash',
  roster: 'e2ee-meet/v1/roster',
  keys: 'e2ee-meet/v1/keys',
  keyWrap: 'e2ee-meet/v1/key-wrap',
  keyEntryAd: 'e2ee-meet/v1/key-entry',
  ack: 'e2ee-meet/v1/ack',
  commit: 'e2ee-meet/v1/commit',
  resend: 'e2ee-meet/v1/resend',
  frameSalt: 'e2ee-meet/v1/sframe-epoch',
  frameBaseKey: 'e2ee-meet/v1/sframe-base-key',
  fingerprint: 'e2ee-meet/v1/fingerprint',
  securityCode: 'e2ee-meet/v1/security-code',
  epochAuthenticator: 'e2ee-meet/v1/epoch-authenticator',
  admission: 'e2ee-meet/v1/admission',
  chat: 'e2ee-meet/v1/chat',
  chatAd: 'e2ee-meet/v1/chat-ad',
  chatKey: 'e2ee-meet/v1/chat-key',
  linkSalt: 'e2ee-meet/v1/link-salt',
  linkKey: 'e2ee-meet/v1/link-key',
  linkEnvelope: 'e2ee-meet/v1/link-envelope',
  linkUpdate: 'e2ee-meet/v1/link-update',
  linkUpdateKey: 'e2ee-meet/v1/link-update-key',
  linkUpdateAd: 'e2ee-meet/v1/link-update-ad',
} as const;

export const SIZE = {
  identityPublicKey: 32,
  identityPrivateKey: 64,
  signature: 64,
  dhPublicKey: 32,
  livenessNonce: 16,
  hash: 32,
  epochKey: 32,
  frameBaseKey: 32,
  /** XChaCha20-Poly1305 nonce (24) + epoch key (32) + tag (16). */
  keyBox: 24 + 32 + 16,
  chatKey: 32,
  /** Derived from the epoch key; the security code is made from it. */
  epochAuthenticator: 32,
  /** Chat plaintext is padded to a multiple of this, so the server sees size buckets only. */
  chatPadBlock: 256,
  /** XChaCha20-Poly1305 nonce (24) + tag (16) around a padded chat plaintext. */
  chatBoxOverhead: 24 + 16,
} as const;

/** Server-assigned participant, meeting and instance IDs. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const LIMITS = {
  /** The server forwards relay payloads up to this many characters (one limit, defined by the signaling protocol). */
  maxRelayPayload: SIGNALING_LIMITS.maxRelayPayload,
  /** Largest logical message after reassembling fragments. */
  maxMessageChars: 1024 * 1024,
  maxFragments: 32,
  /** Roster index is 14 bits in the KID; the server admits far fewer. */
  maxMembers: 1024,
  /** Epochs are 48 bits in the KID. */
  maxEpoch: 2 ** 48 - 1,
  /**
   * Verified rosters kept behind the head: for acks, commits and chat of recent
   * epochs, and for a leader to resend the chain to a member that missed some.
   */
  keptRosters: 16,
  /**
   * How far past our own newest epoch a member's resend request may say it
   * holds a key (a fork of the chain, made while the server split the group):
   * we start a new epoch above it, and so can be pushed at most this far per
   * request (rate-limited), never to the last epoch in one step.
   */
  maxForkAhead: 64,
  /** Display names, in Unicode code points. */
  maxDisplayName: MAX_DISPLAY_NAME,
  /** Chat text, in UTF-16 code units (what a text field's maxlength counts). */
  maxChatChars: 4000,
  /** Per-sender chat sequence numbers. */
  maxChatSeq: 2 ** 48 - 1,
  /**
   * Signature checks one relay sender may make us run (verify-budget.ts): a
   * burst that covers the largest honest message (a newcomer's first roster of
   * maxMembers entries, 1 + 1024 checks) and a rate far above an honest
   * leader's (at most 4 epochs/s: roster, keys, commit).
   */
  verifyBurst: 1024 + 64,
  verifyPerSecond: 64,
} as const;

/** Default timings in milliseconds (all overridable for tests). */
export const TIMING = {
  /** Joins and leaves within this window go into one epoch. */
  batchMs: 250,
  /** The leader commits without every ack after this long. */
  commitTimeoutMs: 1500,
  /** Receivers keep the previous epoch this long after switching. */
  retireAfterMs: 5000,
  /** A participant nobody keyed takes over only after this long (see protocol.md). */
  orphanTimeoutMs: 3000,
  /**
   * A newcomer that has heard nothing from anyone who could key it (those listed before it, or the
   * leader its first roster names) for this long stops waiting for them: it drops that first roster,
   * if any, and starts a provisional chain (protocol.md §5). The server can withhold an honest leader's
   * messages as long as it likes, so a chain started this way merges into the older one once the
   * older one's roster reaches it (§7.5a).
   */
  silentAheadMs: 2000,
  /** Partial fragment sets older than this are dropped. */
  fragmentTimeoutMs: 10_000,
  /**
   * A member that learns of a change (newer roster, commit, a roster member
   * leaving) must send under a newer epoch within this long, or it stops
   * sending and asks for a resend: under the 2 s bound of protocol.md §7a.
   */
  keyWaitMs: 1500,
  /**
   * While stopped, a member repeats its resend request this often, up to
   * resendAttempts times (a minute): a server that withheld the answer for a
   * while must not leave it stopped once it relays again. A newer change
   * starts a new round.
   */
  resendRetryMs: 2000,
  /**
   * A member that stopped sending for a change (a member of its epoch left)
   * and has heard nothing from the leader it expects, this long after it
   * learned of the change, treats that leader as gone (protocol.md §5, pass-over):
   * a participant that holds the link and is next in line must not stall the
   * meeting by staying silent. An honest leader sends its epoch within keyWaitMs.
   */
  passOverMs: 6000,
  resendAttempts: 30,
  /** The leader answers one member's resend requests at most once per this long. */
  resendMinIntervalMs: 1000,
  /**
   * A newcomer announces itself again this often until it holds a key: its
   * announcement may have been lost, or replaced by the server with one no
   * link opens (which made it an outsider to the others until it proves it),
   * or what the leader sent back was withheld (the leader answers a member of
   * its epoch that announces again with its roster and keys, rate-limited).
   * One small message every 2 s while waiting (also in a lobby), for up to
   * reannounceAttempts times (a minute).
   */
  reannounceMs: 2000,
  reannounceAttempts: 30,
} as const;
