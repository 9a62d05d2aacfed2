// The display-name rule, in one place. A participant signs its name into its
// announcement and others show it next to a fingerprint, so characters that
// change how other text renders (controls, line breaks, bidi overrides) are
// refused rather than cleaned up where a name is checked: what a participant
// signs is exactly what others display. Only the page that asks a person for a
// name cleans what they typed (cleanDisplayName) before signing it.

export const MAX_DISPLAY_NAME = 64;

// Cc: controls; Cs: lone surrogates (not valid UTF-8, so signer and verifier
// would hash different bytes); Zl/Zp: line breaks; bidi marks, embeddings,
// overrides and isolates, which can make "Alice" render as someone else.
const FORBIDDEN_CHARS = '[\\p{Cc}\\p{Cs}\\p{Zl}\\p{Zp}\\u061C\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069]';
const FORBIDDEN = new RegExp(FORBIDDEN_CHARS, 'u');
const FORBIDDEN_ALL = new RegExp(FORBIDDEN_CHARS, 'gu');

/** Why a name breaks the rule (0-64 code points, no forbidden characters, no surrounding whitespace), or undefined. */
export function displayNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'display name must be a string';
  // Cheap bound before counting code points (each is at most 2 UTF-16 units).
  if (name.length > 2 * MAX_DISPLAY_NAME || [...name].length > MAX_DISPLAY_NAME) {
    return `display name is longer than ${MAX_DISPLAY_NAME} characters`;
  }
  if (FORBIDDEN.test(name)) return 'display name contains control, line-break or bidi-override characters';
  if (name.trim() !== name) return 'display name has leading or trailing whitespace';
  return undefined;
}

/** What a person typed, made into a name the rule accepts: forbidden characters dropped, cut to length, trimmed. */
export function cleanDisplayName(typed: string): string {
  return [...typed.replace(FORBIDDEN_ALL, '')].slice(0, MAX_DISPLAY_NAME).join('').trim();
}
