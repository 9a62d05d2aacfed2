// One result shape for every fallible operation in shared/ (SFrame, key
// agreement, signaling validation): errors are values with a stable code the
// caller can count, log or show, never strings thrown from deep inside.

/** An error value: a stable code for programs, a sentence for people. */
export interface CodedError<C extends string = string> {
  readonly code: C;
  readonly message: string;
}

export type Result<T, E extends CodedError = CodedError> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function err<E extends CodedError>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}
