// Unambiguous byte encodings: what gets signed, hashed and used as AEAD data.
// Each field is a 4-byte big-endian length followed by its bytes, so no two
// different field lists encode to the same bytes (JSON is never signed).

export type Field = string | Uint8Array | { u32: number } | { u64: number };

const utf8 = new TextEncoder();

/** UTF-8 length of a string without encoding it; -1 unless it is plain ASCII (then it is the string length). */
function asciiLength(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return -1;
  return s.length;
}

/**
 * Length-prefixed concatenation of fields. Strings are UTF-8; ASCII strings
 * (IDs, labels) are written in place rather than through TextEncoder, which
 * gives the same bytes.
 */
export function transcript(...fields: readonly Field[]): Uint8Array {
  // First pass: sizes (and the bytes of any non-ASCII string).
  const encoded: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(fields.length);
  let total = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as Field;
    let n: number;
    if (typeof f === 'string') {
      n = asciiLength(f);
      if (n < 0) {
        const b = utf8.encode(f);
        encoded[i] = b;
        n = b.length;
      }
    } else if (f instanceof Uint8Array) n = f.length;
    else n = 'u32' in f ? 4 : 8;
    total += 4 + n;
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as Field;
    if (typeof f === 'string') {
      const b = encoded[i];
      if (b) {
        view.setUint32(at, b.length);
        out.set(b, at + 4);
        at += 4 + b.length;
      } else {
        view.setUint32(at, f.length);
        at += 4;
        for (let j = 0; j < f.length; j++) out[at++] = f.charCodeAt(j);
      }
    } else if (f instanceof Uint8Array) {
      view.setUint32(at, f.length);
      out.set(f, at + 4);
      at += 4 + f.length;
    } else if ('u32' in f) {
      view.setUint32(at, 4);
      view.setUint32(at + 4, f.u32);
      at += 8;
    } else {
      view.setUint32(at, 8);
      view.setBigUint64(at + 4, BigInt(f.u64));
      at += 12;
    }
  }
  return out;
}

/** Lexicographic byte order, for sorting keys deterministically. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

// base64url without padding, strict: only canonical encodings decode, so one
// value has exactly one wire form.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Char code → 6-bit value, -1 for anything outside the alphabet. */
const LOOKUP = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i] ?? 0;
    const b1 = bytes[i + 1] ?? 0;
    const b2 = bytes[i + 2] ?? 0;
    const n = (b0 << 16) | (b1 << 8) | b2;
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += ALPHABET[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

/** 6-bit value of a char code, negative outside the alphabet. */
function sextet(code: number): number {
  return code < 128 ? (LOOKUP[code] as number) : -1;
}

/** Decodes canonical unpadded base64url; undefined for anything else. */
export function fromBase64Url(s: string): Uint8Array | undefined {
  const n = s.length;
  if (n % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((n * 6) / 8));
  const full = n - (n % 4);
  let at = 0;
  for (let i = 0; i < full; i += 4) {
    const a = sextet(s.charCodeAt(i));
    const b = sextet(s.charCodeAt(i + 1));
    const c = sextet(s.charCodeAt(i + 2));
    const d = sextet(s.charCodeAt(i + 3));
    if ((a | b | c | d) < 0) return undefined;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[at++] = v >> 16;
    out[at++] = (v >> 8) & 0xff;
    out[at++] = v & 0xff;
  }
  // A tail of 2 or 3 characters; its leftover bits must be zero, or two strings would decode to the same bytes.
  if (n - full >= 2) {
    const a = sextet(s.charCodeAt(full));
    const b = sextet(s.charCodeAt(full + 1));
    const c = n - full === 3 ? sextet(s.charCodeAt(full + 2)) : 0;
    if ((a | b | c) < 0) return undefined;
    out[at++] = (a << 2) | (b >> 4);
    if (n - full === 2) {
      if ((b & 0x0f) !== 0) return undefined;
    } else {
      if ((c & 0x03) !== 0) return undefined;
      out[at++] = ((b & 0x0f) << 4) | (c >> 2);
    }
  }
  return out;
}
