// Bytes hidden inside signaling text: base64/base64url and hex tokens, JSON
// strings that are themselves JSON, byte arrays ([12,34,…]) and the object
// JSON.stringify makes of a Uint8Array ({"0":12,"1":34,…}). Each is decoded
// so the raw-byte key search sees what the text encodes.

export type EmbeddedEncoding = 'base64' | 'hex' | 'byte-array';

export interface Embedded {
  readonly encoding: EmbeddedEncoding;
  /** Short excerpt of the source text, for the report. */
  readonly excerpt: string;
  readonly bytes: Uint8Array;
}

const BASE64_TOKEN = /[A-Za-z0-9+/_-]{16,}={0,2}/g;
const HEX_TOKEN = /[0-9a-fA-F]{24,}/g;
const MAX_DEPTH = 3;
const MAX_TOKENS = 10_000;

const excerpt = (s: string) => (s.length > 24 ? `${s.slice(0, 20)}…` : s);

/** Decodes at every alignment: a token cut out of a longer blob may start mid-group. */
function base64Phases(token: string): Uint8Array[] {
  const std = token.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  const out: Uint8Array[] = [];
  for (let phase = 0; phase < 4 && std.length - phase >= 8; phase++) {
    const s = std.slice(phase);
    out.push(Uint8Array.from(Buffer.from(s.slice(0, s.length - (s.length % 4)), 'base64')));
  }
  return out;
}

function hexPhases(token: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let phase = 0; phase < 2; phase++) {
    const s = token.slice(phase);
    out.push(Uint8Array.from(Buffer.from(s.slice(0, s.length - (s.length % 2)), 'hex')));
  }
  return out;
}

function looksLikeText(bytes: Uint8Array): boolean {
  if (bytes.length < 2) return false;
  let printable = 0;
  for (const b of bytes) if ((b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09) printable++;
  return printable / bytes.length > 0.95;
}

function byteArrayOf(value: unknown): Uint8Array | undefined {
  const isByte = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255;
  if (Array.isArray(value)) return value.length >= 8 && value.every(isByte) ? Uint8Array.from(value as number[]) : undefined;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length < 8) return undefined;
    if (!entries.every(([k, v], i) => k === String(i) && isByte(v))) return undefined;
    return Uint8Array.from(entries.map(([, v]) => v as number));
  }
  return undefined;
}

export function extractEmbedded(text: string): Embedded[] {
  const out: Embedded[] = [];
  const visit = (s: string, depth: number): void => {
    if (depth > MAX_DEPTH || out.length > MAX_TOKENS) return;
    for (const m of s.matchAll(BASE64_TOKEN)) {
      for (const bytes of base64Phases(m[0])) {
        out.push({ encoding: 'base64', excerpt: excerpt(m[0]), bytes });
        if (looksLikeText(bytes)) visit(Buffer.from(bytes).toString('latin1'), depth + 1);
      }
    }
    for (const m of s.matchAll(HEX_TOKEN)) {
      for (const bytes of hexPhases(m[0])) {
        out.push({ encoding: 'hex', excerpt: excerpt(m[0]), bytes });
        if (looksLikeText(bytes)) visit(Buffer.from(bytes).toString('latin1'), depth + 1);
      }
    }
    let json: unknown;
    try {
      json = JSON.parse(s);
    } catch {
      return;
    }
    walkJson(json, depth);
  };
  const walkJson = (v: unknown, depth: number): void => {
    const arr = byteArrayOf(v);
    if (arr) {
      out.push({ encoding: 'byte-array', excerpt: excerpt(JSON.stringify(v)), bytes: arr });
      return;
    }
    if (typeof v === 'string') {
      // Only strings that are JSON themselves need a new pass; tokens were already seen in the text.
      const t = v.trim();
      if (t.startsWith('{') || t.startsWith('[')) visitJsonOnly(t, depth + 1);
    } else if (Array.isArray(v)) v.forEach((x) => walkJson(x, depth));
    else if (v && typeof v === 'object') Object.values(v).forEach((x) => walkJson(x, depth));
  };
  const visitJsonOnly = (s: string, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    try {
      walkJson(JSON.parse(s), depth);
    } catch {
      /* not JSON after all */
    }
  };
  visit(text, 0);
  return out;
}
