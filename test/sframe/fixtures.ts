// Small helpers shared by the SFrame tests.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Result } from '../../shared/sframe/index.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The RFC 9605 test vectors (public RFC facts), kept in the repo so a fresh clone can check them. */
export const TEAM_VECTORS = path.resolve(REPO_ROOT, 'test/sframe/vectors/sframe-rfc9605.json');

/** The value of an ok result; fails the test with the error otherwise. */
export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

/** The error code of a failed result, or 'OK' if it succeeded. */
export function codeOf(r: Result<unknown>): string {
  return r.ok ? 'OK' : r.error.code;
}

/** A deterministic base key: seed, seed+1, … */
export function baseKey(seed: number, length = 16): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed + i) & 0xff);
}

/** A copy of `bytes` with one bit flipped. */
export function flipBit(bytes: Uint8Array, index: number, bit = 0): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[index] = (copy[index] ?? 0) ^ (1 << bit);
  return copy;
}

export function frameOf(length: number, first?: number): Uint8Array {
  const f = Uint8Array.from({ length }, (_, i) => (i * 7 + 3) & 0xff);
  if (first !== undefined && length > 0) f[0] = first;
  return f;
}

export const MAX_U64 = (1n << 64n) - 1n;
