// Results with error codes, the same shape the SFrame core uses, so callers
// can count and report failures by code instead of parsing messages.

export type AuditResult<T, C extends string> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: C; readonly message: string };

export function success<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function failure<C extends string>(code: C, message: string): { ok: false; code: C; message: string } {
  return { ok: false, code, message };
}
