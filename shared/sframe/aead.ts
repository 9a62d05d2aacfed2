// The two AEAD constructions of RFC 9605 on WebCrypto:
//  - AES-GCM (suites 4, 5): one WebCrypto call per frame.
//  - AES-CTR + truncated HMAC (suites 1-3, §4.5.1): encrypt-then-MAC where the
//    MAC input is len(aad) || len(ct) || Nt (each 8 bytes BE) || nonce || aad || ct,
//    and the AES-CTR initial counter block is nonce || 00000000.
// Keys are imported once, non-extractable; per-frame work never imports.

import { asBufferSource, constantTimeEqual, type Bytes } from './bytes.ts';
import { fail, ok, type Result } from './errors.ts';
import type { CipherSuite } from './suites.ts';

export type AeadKey =
  | { readonly aead: 'AES-GCM'; readonly key: CryptoKey }
  | { readonly aead: 'AES-CTR-HMAC'; readonly encKey: CryptoKey; readonly authKey: CryptoKey };

/** Splits a CTR+HMAC sframe_key into enc_key (first Nka bytes) and auth_key (the rest). */
export function splitCtrHmacKey(suite: CipherSuite, key: Uint8Array): { encKey: Uint8Array; authKey: Uint8Array } | undefined {
  if (suite.aead !== 'AES-CTR-HMAC' || key.length !== suite.nk) return undefined;
  return { encKey: key.subarray(0, suite.nka), authKey: key.subarray(suite.nka) };
}

export async function importAeadKey(suite: CipherSuite, key: Uint8Array): Promise<Result<AeadKey>> {
  if (key.length !== suite.nk) return fail('INVALID_ARGUMENT', `${suite.name} needs a ${suite.nk}-byte key, got ${key.length}`);
  const subtle = crypto.subtle;
  try {
    if (suite.aead === 'AES-GCM') {
      const k = await subtle.importKey('raw', asBufferSource(key), 'AES-GCM', false, ['encrypt', 'decrypt']);
      return ok({ aead: 'AES-GCM', key: k });
    }
    const parts = splitCtrHmacKey(suite, key);
    if (!parts) return fail('INVALID_ARGUMENT', 'bad CTR+HMAC key');
    const encKey = await subtle.importKey('raw', asBufferSource(parts.encKey), 'AES-CTR', false, ['encrypt', 'decrypt']);
    const authKey = await subtle.importKey('raw', asBufferSource(parts.authKey), { name: 'HMAC', hash: suite.hash }, false, ['sign']);
    return ok({ aead: 'AES-CTR-HMAC', encKey, authKey });
  } catch (e) {
    return fail('INTERNAL', `key import failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

// ---- AES-GCM, one WebCrypto call ----
//
// WebCrypto copies iv, additionalData and data while the call starts (the
// spec's "normalize an algorithm" and "get a copy of the bytes held by"; Blink
// copies them into vectors before it posts the job), so a caller may reuse
// those buffers as soon as gcmEncrypt/gcmDecrypt return. The per-frame path
// relies on that to keep its nonce and AAD in scratch buffers.

const NO_BYTES = new Uint8Array(0);
/**
 * Reused for every call: WebCrypto reads it synchronously. It keeps the last
 * iv/additionalData referenced, so callers passing a scratch nonce zero it
 * once the call has started.
 */
const GCM_PARAMS: { name: 'AES-GCM'; iv: Bytes; additionalData: Bytes; tagLength: number } = {
  name: 'AES-GCM',
  iv: NO_BYTES,
  additionalData: NO_BYTES,
  tagLength: 128,
};

/** AES-GCM encrypt; resolves to ciphertext || tag, rejects as WebCrypto does. */
export function gcmEncrypt(key: CryptoKey, nt: number, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Promise<ArrayBuffer> {
  return gcm('encrypt', key, nt, nonce, aad, pt);
}

/** AES-GCM decrypt of ciphertext || tag; rejects (OperationError) if the tag does not verify. */
export function gcmDecrypt(key: CryptoKey, nt: number, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<ArrayBuffer> {
  return gcm('decrypt', key, nt, nonce, aad, sealed);
}

function gcm(
  op: 'encrypt' | 'decrypt',
  key: CryptoKey,
  nt: number,
  nonce: Uint8Array,
  aad: Uint8Array,
  data: Uint8Array,
): Promise<ArrayBuffer> {
  GCM_PARAMS.iv = asBufferSource(nonce);
  GCM_PARAMS.additionalData = asBufferSource(aad);
  GCM_PARAMS.tagLength = nt * 8;
  try {
    return op === 'encrypt'
      ? crypto.subtle.encrypt(GCM_PARAMS, key, asBufferSource(data))
      : crypto.subtle.decrypt(GCM_PARAMS, key, asBufferSource(data));
  } catch (e) {
    // A synchronous throw (bad key usage, detached buffer) becomes a rejection, as the callers expect.
    return Promise.reject(e);
  }
}

// ---- AES-CTR + HMAC ----

function ctrBlock(nonce: Uint8Array): Bytes {
  const block = new Uint8Array(16);
  block.set(nonce);
  return block;
}

function writeU64(out: Uint8Array, at: number, n: number): void {
  // Lengths are far below 2^53, so two 32-bit halves are exact.
  const hi = Math.floor(n / 0x100000000);
  const lo = n >>> 0;
  out[at] = hi >>> 24;
  out[at + 1] = (hi >>> 16) & 0xff;
  out[at + 2] = (hi >>> 8) & 0xff;
  out[at + 3] = hi & 0xff;
  out[at + 4] = lo >>> 24;
  out[at + 5] = (lo >>> 16) & 0xff;
  out[at + 6] = (lo >>> 8) & 0xff;
  out[at + 7] = lo & 0xff;
}

async function ctrHmacTag(suite: CipherSuite, authKey: CryptoKey, nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array): Promise<Bytes> {
  const input = new Uint8Array(24 + nonce.length + aad.length + ct.length);
  writeU64(input, 0, aad.length);
  writeU64(input, 8, ct.length);
  writeU64(input, 16, suite.nt);
  input.set(nonce, 24);
  input.set(aad, 24 + nonce.length);
  input.set(ct, 24 + nonce.length + aad.length);
  const mac = await crypto.subtle.sign('HMAC', authKey, input);
  return new Uint8Array(mac, 0, suite.nt);
}

/** AEAD.Encrypt: returns ciphertext || tag. */
export async function aeadSeal(
  suite: CipherSuite,
  key: AeadKey,
  nonce: Uint8Array,
  aad: Uint8Array,
  pt: Uint8Array,
): Promise<Result<Bytes>> {
  try {
    if (key.aead === 'AES-GCM') return ok(new Uint8Array(await gcmEncrypt(key.key, suite.nt, nonce, aad, pt)));
    const ct = new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-CTR', counter: ctrBlock(nonce), length: 32 }, key.encKey, asBufferSource(pt)),
    );
    const tag = await ctrHmacTag(suite, key.authKey, nonce, aad, ct);
    const out = new Uint8Array(ct.length + tag.length);
    out.set(ct);
    out.set(tag, ct.length);
    return ok(out);
  } catch (e) {
    return fail('INTERNAL', `encryption failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** AEAD.Decrypt of ciphertext || tag; AUTH_FAILED if the tag does not verify. */
export async function aeadOpen(
  suite: CipherSuite,
  key: AeadKey,
  nonce: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
): Promise<Result<Bytes>> {
  if (sealed.length < suite.nt) return fail('MALFORMED', `ciphertext shorter than the ${suite.nt}-byte tag`, 'FRAME_TOO_SHORT');
  if (key.aead === 'AES-GCM') {
    try {
      return ok(new Uint8Array(await gcmDecrypt(key.key, suite.nt, nonce, aad, sealed)));
    } catch {
      // WebCrypto reports a bad GCM tag only as an OperationError.
      return fail('AUTH_FAILED', 'SFrame authentication failed');
    }
  }
  try {
    const ct = sealed.subarray(0, sealed.length - suite.nt);
    const tag = sealed.subarray(sealed.length - suite.nt);
    const expected = await ctrHmacTag(suite, key.authKey, nonce, aad, ct);
    if (!constantTimeEqual(tag, expected)) return fail('AUTH_FAILED', 'SFrame authentication failed');
    return ok(
      new Uint8Array(
        await crypto.subtle.decrypt({ name: 'AES-CTR', counter: ctrBlock(nonce), length: 32 }, key.encKey, asBufferSource(ct)),
      ),
    );
  } catch (e) {
    return fail('INTERNAL', `decryption failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
