// Errors are values: every fallible SFrame operation returns a Result whose
// error carries a stable code the caller can count, log or map to a drop reason.
// The shape is the project's one Result (shared/result.ts).

import { err, ok, type CodedError, type Result as SharedResult } from '../result.ts';

export type SFrameErrorCode =
  /** Bytes that cannot be an SFrame (media) frame: truncated or non-canonical header, frame too short. */
  | 'MALFORMED'
  /** The header names a KID this receiver holds no key for (or whose grace period ended). */
  | 'UNKNOWN_KID'
  /** The AEAD tag did not verify: wrong key, or header, metadata, ciphertext or tag altered. */
  | 'AUTH_FAILED'
  /** The CTR was already accepted under this KID, or is too far behind the highest one. */
  | 'REPLAY'
  /** No send key is installed: the caller must drop the frame, never send it in clear. */
  | 'NO_KEY'
  /** The send counter reached 2^64: this key can encrypt nothing more. */
  | 'CTR_EXHAUSTED'
  | 'UNSUPPORTED_SUITE'
  /** A KID already holds different key material, or would be used to both send and receive. */
  | 'KID_CONFLICT'
  /** A later setSendKey/clearSendKey/retire overtook this setSendKey while it was deriving. */
  | 'SUPERSEDED'
  /** A caller passed a value outside its domain (e.g. a KID above 2^64-1). */
  | 'INVALID_ARGUMENT'
  /** WebCrypto failed for a reason other than authentication. */
  | 'INTERNAL';

/** Finer reason for MALFORMED, for diagnostics and tests; callers may ignore it. */
export type MalformedDetail = 'HEADER_TRUNCATED' | 'HEADER_NON_MINIMAL' | 'FRAME_TOO_SHORT';

export interface SFrameError extends CodedError<SFrameErrorCode> {
  readonly detail?: MalformedDetail;
}

/** The shared result shape (shared/result.ts) with SFrame's error. */
export type Result<T> = SharedResult<T, SFrameError>;

export { ok };

/** The SFrame failure helper: a coded error value, with the MALFORMED detail when there is one. */
export function fail<T = never>(code: SFrameErrorCode, message: string, detail?: MalformedDetail): Result<T> {
  return err(detail === undefined ? { code, message } : { code, message, detail });
}
