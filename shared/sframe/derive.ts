// Key derivation (RFC 9605 §4.4.2), done once per KID:
//   sframe_secret = HKDF-Extract("", base_key)
//   sframe_key    = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret key "  || KID(8 BE) || suite(2 BE), Nk)
//   sframe_salt   = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret salt " || KID(8 BE) || suite(2 BE), Nn)
// The result is a KeyContext holding non-extractable CryptoKeys and the salt,
// so per-frame work never derives or imports anything.

import { importAeadKey, type AeadKey } from './aead.ts';
import { bigintToBytes, concatBytes, isU64, type Bytes } from './bytes.ts';
import { fail, ok, type Result } from './errors.ts';
import { hkdfExpand, hkdfExtract } from './hkdf.ts';
import type { CipherSuite } from './suites.ts';

const encoder = new TextEncoder();
const KEY_LABEL = encoder.encode('SFrame 1.0 Secret key ');
const SALT_LABEL = encoder.encode('SFrame 1.0 Secret salt ');

export function sframeLabel(kind: 'key' | 'salt', kid: bigint, suite: CipherSuite): Bytes {
  return concatBytes(kind === 'key' ? KEY_LABEL : SALT_LABEL, bigintToBytes(kid, 8), bigintToBytes(BigInt(suite.id), 2));
}

/** Every intermediate value of the derivation, as raw bytes (for vectors and tests only). */
export interface SFrameSecrets {
  readonly secret: Bytes;
  readonly keyLabel: Bytes;
  readonly saltLabel: Bytes;
  readonly key: Bytes;
  readonly salt: Bytes;
}

export async function deriveSFrameSecrets(suite: CipherSuite, kid: bigint, baseKey: Uint8Array): Promise<SFrameSecrets> {
  const secret = await hkdfExtract(suite.hash, new Uint8Array(0), baseKey);
  const keyLabel = sframeLabel('key', kid, suite);
  const saltLabel = sframeLabel('salt', kid, suite);
  const key = await hkdfExpand(suite.hash, secret, keyLabel, suite.nk);
  const salt = await hkdfExpand(suite.hash, secret, saltLabel, suite.nn);
  return { secret, keyLabel, saltLabel, key, salt };
}

/** What a sender or receiver holds per KID. */
export interface KeyContext {
  readonly suite: CipherSuite;
  readonly kid: bigint;
  readonly aead: AeadKey;
  /** sframe_salt (Nn bytes); zeroed when the key is erased. */
  readonly salt: Bytes;
}

export async function createKeyContext(suite: CipherSuite, kid: bigint, baseKey: Uint8Array): Promise<Result<KeyContext>> {
  if (!isU64(kid)) return fail('INVALID_ARGUMENT', `KID must be in 0..2^64-1, got ${kid}`);
  let secrets: SFrameSecrets;
  try {
    secrets = await deriveSFrameSecrets(suite, kid, baseKey);
  } catch (e) {
    return fail('INTERNAL', `key derivation failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const aead = await importAeadKey(suite, secrets.key);
  // Only the non-extractable CryptoKeys and the salt outlive this call.
  secrets.secret.fill(0);
  secrets.key.fill(0);
  if (!aead.ok) return aead;
  return ok({ suite, kid, aead: aead.value, salt: secrets.salt });
}
