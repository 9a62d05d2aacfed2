// Searching captured bytes for key material.
//
// Every key is cut into 16-byte windows at every offset (a key of 16 bytes
// or fewer is one window), so a truncated or partly embedded key is found too.
// Each window is searched as raw bytes, as hex (both cases) and as base64 and
// base64url text. A base64 text form is only exact when the window starts on
// a 3-byte boundary of the encoded blob; with windows at every offset, one of
// any three consecutive windows does, and embedded.ts additionally decodes
// every base64/hex-looking token so the raw search sees the bytes themselves.

import { failure, success, type AuditResult } from './result.ts';

export interface KeySpec {
  readonly label: string;
  readonly hex: string;
}

export type NeedleForm = 'raw' | 'hex' | 'HEX' | 'base64' | 'base64url';

export interface Needle {
  readonly label: string;
  readonly form: NeedleForm;
  /** Where the window starts in the key, and its length. */
  readonly offset: number;
  readonly length: number;
  readonly keyLength: number;
  readonly bytes: Uint8Array;
}

export const WINDOW_BYTES = 16;
/** Below this a random match in megabytes of ciphertext becomes plausible. */
export const MIN_KEY_BYTES = 8;

export type KeyProblemCode = 'BAD_HEX' | 'TOO_SHORT';

export function parseKeyHex(hex: string): AuditResult<Uint8Array, KeyProblemCode> {
  const h = hex.trim().replace(/^0x/i, '');
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) return failure('BAD_HEX', 'not an even-length hex string');
  const bytes = Uint8Array.from(Buffer.from(h, 'hex'));
  if (bytes.length < MIN_KEY_BYTES) return failure('TOO_SHORT', `${bytes.length} bytes: too short to search without false hits`);
  return success(bytes);
}

export function needlesForKey(label: string, key: Uint8Array): Needle[] {
  const length = Math.min(WINDOW_BYTES, key.length);
  const out: Needle[] = [];
  const seen = new Set<string>();
  const add = (form: NeedleForm, offset: number, text: Uint8Array | string) => {
    const bytes = typeof text === 'string' ? Uint8Array.from(Buffer.from(text, 'latin1')) : text;
    const id = `${offset}:${Buffer.from(bytes).toString('latin1')}`;
    if (seen.has(id)) return; // e.g. base64 without + or / equals base64url
    seen.add(id);
    out.push({ label, form, offset, length, keyLength: key.length, bytes });
  };
  for (let offset = 0; offset + length <= key.length; offset++) {
    const w = Buffer.from(key.subarray(offset, offset + length));
    add('raw', offset, new Uint8Array(w));
    add('hex', offset, w.toString('hex'));
    add('HEX', offset, w.toString('hex').toUpperCase());
    // Only the characters that depend on this window alone.
    const exact = Math.floor((length * 8) / 6);
    add('base64', offset, w.toString('base64').slice(0, exact));
    add('base64url', offset, w.toString('base64url').slice(0, exact));
  }
  return out;
}

export interface NeedleHit {
  readonly needle: Needle;
  readonly at: number;
}

/** Many needles, one pass over each haystack: a 2-byte prefix filter, then a 4-byte map. */
export class NeedleIndex {
  private readonly prefix2 = new Uint8Array(65536);
  private readonly byPrefix4 = new Map<number, Needle[]>();

  constructor(readonly needles: readonly Needle[]) {
    for (const n of needles) {
      const b = n.bytes;
      this.prefix2[(b[0]! << 8) | b[1]!] = 1;
      const k = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
      const list = this.byPrefix4.get(k);
      if (list) list.push(n);
      else this.byPrefix4.set(k, [n]);
    }
  }

  scan(hay: Uint8Array): NeedleHit[] {
    const hits: NeedleHit[] = [];
    if (this.needles.length === 0) return hits;
    for (let i = 0; i + 4 <= hay.length; i++) {
      if (this.prefix2[(hay[i]! << 8) | hay[i + 1]!] === 0) continue;
      const k = ((hay[i]! << 24) | (hay[i + 1]! << 16) | (hay[i + 2]! << 8) | hay[i + 3]!) >>> 0;
      const list = this.byPrefix4.get(k);
      if (!list) continue;
      for (const n of list) if (matchesAt(hay, i, n.bytes)) hits.push({ needle: n, at: i });
    }
    return hits;
  }
}

function matchesAt(hay: Uint8Array, at: number, needle: Uint8Array): boolean {
  if (at + needle.length > hay.length) return false;
  for (let j = 4; j < needle.length; j++) if (hay[at + j] !== needle[j]) return false;
  return true;
}
