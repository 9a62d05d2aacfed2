// Display names as participants sign them into their announcements. The name
// is shown next to a fingerprint, so characters that change how other text
// renders (controls, line breaks, bidi overrides) are refused rather than
// cleaned up: what a participant signs is exactly what others display.

import { LIMITS } from './constants.ts';
import { fail, ok, type Result } from './errors.ts';

// Cc: controls; Cs: lone surrogates (not valid UTF-8, so signer and verifier
// would hash different bytes); Zl/Zp: line breaks; bidi marks, embeddings,
// overrides and isolates, which can make "Alice" render as someone else.
const FORBIDDEN = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

/** A name is 0-64 code points, without forbidden characters or surrounding whitespace. */
export function checkDisplayName(name: unknown): Result<string> {
  if (typeof name !== 'string') return fail('INVALID_ARGUMENT', 'display name must be a string');
  // Cheap bound before counting code points (each is at most 2 UTF-16 units).
  if (name.length > 2 * LIMITS.maxDisplayName || [...name].length > LIMITS.maxDisplayName) {
    return fail('INVALID_ARGUMENT', `display name is longer than ${LIMITS.maxDisplayName} characters`);
  }
  if (FORBIDDEN.test(name)) return fail('INVALID_ARGUMENT', 'display name contains control, line-break or bidi-override characters');
  if (name.trim() !== name) return fail('INVALID_ARGUMENT', 'display name has leading or trailing whitespace');
  return ok(name);
}
