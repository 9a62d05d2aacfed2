// Checks a test-vector file in the SFrame working group's JSON layout:
//   header:       [{kid, ctr, encoded}]
//   aes_ctr_hmac: [{cipher_suite, key, enc_key, auth_key, nonce, aad, pt, ct}]
//   sframe:       [{cipher_suite, kid, ctr, base_key, sframe_key_label, sframe_salt_label,
//                   sframe_secret, sframe_key, sframe_salt, metadata, nonce, aad, pt, ct}]
// Every entry is recomputed through the production code paths; nothing is
// special-cased by suite, KID or CTR. Unknown top-level keys only warn.

import { aeadOpen, aeadSeal, importAeadKey, splitCtrHmacKey } from './aead.ts';
import { bytesToHex, concatBytes, hexToBytes, isU64, type Bytes } from './bytes.ts';
import { createKeyContext, deriveSFrameSecrets } from './derive.ts';
import { parseJsonExact, type JsonObject, type JsonValue } from './exact-json.ts';
import { sframeDecrypt, sframeEncrypt, sframeNonce } from './frame.ts';
import { decodeHeader, encodeHeader } from './header.ts';
import { getSuite, type CipherSuite } from './suites.ts';

export interface VectorReport {
  passed: number;
  failed: number;
  /** One line per failed case, naming what mismatched. */
  failures: string[];
  /** Unknown top-level keys and the like: reported, not failed. */
  warnings: string[];
  /** Problems with the file as a whole (bad JSON, a section that is not a list). */
  errors: string[];
}

/** Case-level mismatch collector; a case passes when it records nothing. */
class Case {
  readonly problems: string[] = [];
  constructor(private readonly entry: JsonObject) {}

  int(name: string): bigint | undefined {
    const v = this.entry[name];
    const n = typeof v === 'bigint' ? v : typeof v === 'string' && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v) ? BigInt(v) : undefined;
    if (n === undefined || !isU64(n)) this.problems.push(`${name}: missing or not an integer in 0..2^64-1`);
    return n;
  }

  hex(name: string): Bytes | undefined {
    const v = this.entry[name];
    const b = typeof v === 'string' ? hexToBytes(v) : undefined;
    if (!b) this.problems.push(`${name}: missing or not hex`);
    return b;
  }

  same(what: string, expected: Uint8Array, actual: Uint8Array): void {
    const e = bytesToHex(expected);
    const a = bytesToHex(actual);
    if (e !== a) this.problems.push(`${what} mismatch: expected ${e}, got ${a}`);
  }

  equal(what: string, expected: unknown, actual: unknown): void {
    if (expected !== actual) this.problems.push(`${what} mismatch: expected ${String(expected)}, got ${String(actual)}`);
  }

  suite(): CipherSuite | undefined {
    const id = this.int('cipher_suite');
    if (id === undefined) return undefined;
    const s = getSuite(id);
    if (!s.ok) this.problems.push(s.error.message);
    return s.ok ? s.value : undefined;
  }
}

type Checker = (c: Case) => Promise<void>;

async function checkHeader(c: Case): Promise<void> {
  const kid = c.int('kid');
  const ctr = c.int('ctr');
  const encoded = c.hex('encoded');
  if (kid === undefined || ctr === undefined || !encoded) return;
  const enc = encodeHeader(kid, ctr);
  if (enc.ok) c.same('encoded header', encoded, enc.value);
  else c.problems.push(`encode failed: ${enc.error.message}`);
  const dec = decodeHeader(encoded);
  if (!dec.ok) {
    c.problems.push(`decode failed: ${dec.error.code} ${dec.error.message}`);
    return;
  }
  c.equal('decoded kid', kid, dec.value.kid);
  c.equal('decoded ctr', ctr, dec.value.ctr);
  c.equal('decoded header length', encoded.length, dec.value.length);
}

async function checkAesCtrHmac(c: Case): Promise<void> {
  const suite = c.suite();
  const [key, encKey, authKey, nonce, aad, pt, ct] = ['key', 'enc_key', 'auth_key', 'nonce', 'aad', 'pt', 'ct'].map((f) => c.hex(f));
  if (!suite || !key || !encKey || !authKey || !nonce || !aad || !pt || !ct) return;
  const parts = splitCtrHmacKey(suite, key);
  if (!parts) {
    c.problems.push(`suite ${suite.id} is not an AES-CTR+HMAC suite with ${key.length}-byte keys`);
    return;
  }
  c.same('enc_key', encKey, parts.encKey);
  c.same('auth_key', authKey, parts.authKey);
  const aeadKey = await importAeadKey(suite, key);
  if (!aeadKey.ok) {
    c.problems.push(`key import: ${aeadKey.error.message}`);
    return;
  }
  const sealed = await aeadSeal(suite, aeadKey.value, nonce, aad, pt);
  if (sealed.ok) c.same('ct', ct, sealed.value);
  else c.problems.push(`encrypt failed: ${sealed.error.message}`);
  const opened = await aeadOpen(suite, aeadKey.value, nonce, aad, ct);
  if (opened.ok) c.same('decrypted pt', pt, opened.value);
  else c.problems.push(`decrypt of ct failed: ${opened.error.code}`);
}

async function checkSFrame(c: Case): Promise<void> {
  const suite = c.suite();
  const kid = c.int('kid');
  const ctr = c.int('ctr');
  const fields = [
    'base_key',
    'sframe_key_label',
    'sframe_salt_label',
    'sframe_secret',
    'sframe_key',
    'sframe_salt',
    'metadata',
    'nonce',
    'aad',
    'pt',
    'ct',
  ];
  const [baseKey, keyLabel, saltLabel, secret, key, salt, metadata, nonce, aad, pt, ct] = fields.map((f) => c.hex(f));
  if (!suite || kid === undefined || ctr === undefined) return;
  if (!baseKey || !keyLabel || !saltLabel || !secret || !key || !salt || !metadata || !nonce || !aad || !pt || !ct) return;

  const derived = await deriveSFrameSecrets(suite, kid, baseKey);
  c.same('sframe_key_label', keyLabel, derived.keyLabel);
  c.same('sframe_salt_label', saltLabel, derived.saltLabel);
  c.same('sframe_secret', secret, derived.secret);
  c.same('sframe_key', key, derived.key);
  c.same('sframe_salt', salt, derived.salt);
  c.same('nonce', nonce, sframeNonce(derived.salt, ctr));
  const header = encodeHeader(kid, ctr);
  if (!header.ok) {
    c.problems.push(`header: ${header.error.message}`);
    return;
  }
  c.same('aad', aad, concatBytes(header.value, metadata));

  // Encrypt and decrypt through the same key context the media path uses.
  const ctx = await createKeyContext(suite, kid, baseKey);
  if (!ctx.ok) {
    c.problems.push(`key context: ${ctx.error.message}`);
    return;
  }
  const sealed = await sframeEncrypt(ctx.value, ctr, metadata, pt);
  if (sealed.ok) c.same('ct', ct, sealed.value);
  else c.problems.push(`encrypt failed: ${sealed.error.message}`);
  const opened = await sframeDecrypt(() => ctx.value, metadata, ct);
  if (!opened.ok) {
    c.problems.push(`decrypt of ct failed: ${opened.error.code}`);
    return;
  }
  c.same('decrypted pt', pt, opened.value.plaintext);
  c.equal('decrypted kid', kid, opened.value.kid);
  c.equal('decrypted ctr', ctr, opened.value.ctr);
}

const SECTIONS: Record<string, { checker: Checker; label: (e: JsonObject) => string }> = {
  header: { checker: checkHeader, label: (e) => `kid=${String(e['kid'])} ctr=${String(e['ctr'])}` },
  aes_ctr_hmac: { checker: checkAesCtrHmac, label: (e) => `cipher_suite=${String(e['cipher_suite'])}` },
  sframe: {
    checker: checkSFrame,
    label: (e) => `cipher_suite=${String(e['cipher_suite'])} kid=${String(e['kid'])} ctr=${String(e['ctr'])}`,
  },
};

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function checkVectors(data: JsonValue): Promise<VectorReport> {
  const report: VectorReport = { passed: 0, failed: 0, failures: [], warnings: [], errors: [] };
  if (!isObject(data)) {
    report.errors.push('the top level of the vector file is not a JSON object');
    return report;
  }
  for (const [name, section] of Object.entries(data)) {
    const known = SECTIONS[name];
    if (!known) {
      report.warnings.push(`unknown top-level key "${name}" ignored`);
      continue;
    }
    if (!Array.isArray(section)) {
      report.errors.push(`"${name}" is not a list`);
      continue;
    }
    for (const [i, entry] of section.entries()) {
      const where = `${name}[${i}]`;
      if (!isObject(entry)) {
        report.failed++;
        report.failures.push(`${where}: not an object`);
        continue;
      }
      const c = new Case(entry);
      try {
        await known.checker(c);
      } catch (e) {
        c.problems.push(`threw ${e instanceof Error ? e.message : String(e)}`);
      }
      if (c.problems.length === 0) {
        report.passed++;
      } else {
        report.failed++;
        report.failures.push(`${where} ${known.label(entry)}: ${c.problems.join('; ')}`);
      }
    }
  }
  return report;
}

export async function checkVectorText(text: string): Promise<VectorReport> {
  const parsed = parseJsonExact(text);
  if (!parsed.ok) {
    return {
      passed: 0,
      failed: 0,
      failures: [],
      warnings: [],
      errors: [`invalid JSON at offset ${parsed.error.offset}: ${parsed.error.message}`],
    };
  }
  return checkVectors(parsed.value);
}

/** Whether a report means "all good": no failures, no file errors, and at least one case. */
export function vectorsPassed(r: VectorReport): boolean {
  return r.failed === 0 && r.errors.length === 0 && r.passed > 0;
}
