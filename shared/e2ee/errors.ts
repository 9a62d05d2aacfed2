// Error values for the E2EE protocol. Every rejected input maps to exactly one
// code so tests, logs and the UI can tell failures apart; verification code
// returns these as values (Result) instead of throwing.

import { err, ok, type CodedError, type Result as SharedResult } from '../result.ts';

export type E2eeErrorCode =
  // Boundary parsing
  | 'MALFORMED' // not JSON, wrong shape, wrong field type or size
  | 'TOO_LARGE' // payload or reassembled message over the limit
  | 'UNKNOWN_TYPE' // a message type this version does not know
  | 'UNSUPPORTED_VERSION'
  | 'FRAGMENT_INVALID' // fragment inconsistent with the ones before it
  // Binding to this meeting and sender
  | 'WRONG_MEETING'
  | 'WRONG_INSTANCE'
  | 'SENDER_MISMATCH' // relay `from` differs from the participant the message speaks for
  | 'UNKNOWN_PARTICIPANT' // the server never said this participant is present
  | 'PARTICIPANT_ID_REUSED' // an ID that already left is back: never trusted again
  | 'ANNOUNCEMENT_CONFLICT' // a second, different announcement for the same participant
  // The meeting link's secret (link.ts)
  | 'LINK_MISSING' // a meeting link without its secret (#s=...)
  | 'LINK_MALFORMED' // a secret that is not 22-86 base64url characters
  | 'LINK_RETIRED' // a payload sealed with a link the leader replaced, from someone who was not in the meeting before the change
  | 'NO_LINK_PROOF' // a relay payload not sealed with this meeting link's key: the sender lacks the link (or the server forged it)
  // Signatures and encryption
  | 'BAD_SIGNATURE'
  | 'DECRYPT_FAILED'
  | 'BAD_PUBLIC_KEY' // X25519 key non-canonical or of small order (all-zero shared secret): refused, never keyed
  | 'RATE_LIMITED' // sender over its budget of signature checks per second: dropped unchecked
  // Roster rules
  | 'ROSTER_CHAIN_BROKEN' // prevHash is not the hash of our last verified roster
  | 'ROSTER_BAD_ANNOUNCEMENT' // a member entry without a valid announcement
  | 'ROSTER_DELTA_MISMATCH' // a roster delta names what our roster lacks, or does not rebuild to the signed roster
  | 'ROSTER_ORDER' // continuing members reordered, changed, or placed after newcomers
  | 'ROSTER_SELF_MISMATCH' // our own entry is not the announcement we made
  | 'NOT_IN_ROSTER' // a first roster that does not list us
  | 'NOT_LEADER' // signed by someone who is not the leader we derive from the roster
  | 'LEADER_PASSED_OVER' // the leader we expected sent nothing while we waited for its epoch: we treat it as gone (§5)
  | 'SILENT_AHEAD' // nobody who could key us (those ahead of us, our first roster's leader) sent anything: we start a provisional chain (§5)
  // Keys and epochs
  | 'STALE_EPOCH' // epoch not greater than one already accepted
  | 'UNKNOWN_EPOCH' // refers to an epoch whose roster we do not hold
  | 'ROSTER_MISMATCH' // refers to a roster hash other than the verified one
  | 'WRONG_RECIPIENT' // key message carries no key addressed to us
  | 'STALE_NONCE' // key message echoes a liveness nonce older than allowed
  | 'NOT_A_MEMBER' // ack from someone outside the epoch's roster
  | 'EPOCH_EXHAUSTED' // the chain reached epoch 2^48 - 1: no further rotation (the meeting must restart)
  // Admission (lock, lobby, removal)
  | 'ROSTER_REMOVED_MEMBER' // a roster lists someone it or its predecessor excluded
  | 'PARTICIPANT_EXCLUDED' // announcement from a participant the leader removed or denied
  | 'ALREADY_A_MEMBER' // admission decision about someone already in the roster
  | 'NOT_IN_LOBBY' // admit/deny of someone who is not waiting
  // Chat
  | 'NO_KEY' // sending chat without a committed epoch key
  | 'CHAT_UNKNOWN_EPOCH' // chat for an epoch whose key we do not hold (never had it, or retired)
  | 'CHAT_NOT_A_MEMBER' // chat from someone outside that epoch's roster or no longer a member
  | 'CHAT_BAD_SIGNATURE'
  | 'CHAT_REPLAY' // chat sequence number not above the sender's last one
  | 'CHAT_DECRYPT_FAILED'
  // Local misuse
  | 'CRYPTO_NOT_READY'
  | 'INVALID_ARGUMENT'
  | 'INTERNAL';

/** Thrown only for local misuse (constructor arguments); everything else travels as a Result. */
export class E2eeError extends Error implements CodedError<E2eeErrorCode> {
  override readonly name = 'E2eeError';
  constructor(
    readonly code: E2eeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** shared/result.ts's Result, with our error class (so callers may still `throw result.error`). */
export type Result<T> = SharedResult<T, E2eeError>;

export { ok };

export function fail<T = never>(code: E2eeErrorCode, message: string): Result<T> {
  return err(new E2eeError(code, message));
}
