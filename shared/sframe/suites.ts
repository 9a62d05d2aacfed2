// The five RFC 9605 cipher suites (§4.5, IANA "SFrame Cipher Suites").
// Nh: hash output, Nka: AES key inside a CTR+HMAC key, Nk: AEAD key,
// Nn: nonce, Nt: tag (all in bytes).

import { fail, ok, type Result } from './errors.ts';

export type CipherSuiteId = 1 | 2 | 3 | 4 | 5;
export type HashName = 'SHA-256' | 'SHA-512';

interface SuiteBase {
  readonly id: CipherSuiteId;
  readonly name: string;
  readonly hash: HashName;
  readonly nh: number;
  readonly nk: number;
  readonly nn: number;
  readonly nt: number;
}

export interface GcmSuite extends SuiteBase {
  readonly aead: 'AES-GCM';
}

/** AES-CTR + truncated HMAC (§4.5.1): sframe_key = enc_key (Nka) || auth_key (Nh). */
export interface CtrHmacSuite extends SuiteBase {
  readonly aead: 'AES-CTR-HMAC';
  readonly nka: number;
}

export type CipherSuite = GcmSuite | CtrHmacSuite;

const ctrHmac = (id: CipherSuiteId, nt: number): CtrHmacSuite => ({
  id,
  name: `AES_128_CTR_HMAC_SHA256_${nt * 8}`,
  aead: 'AES-CTR-HMAC',
  hash: 'SHA-256',
  nh: 32,
  nka: 16,
  nk: 48,
  nn: 12,
  nt,
});

export const CIPHER_SUITES: Readonly<Record<CipherSuiteId, CipherSuite>> = {
  1: ctrHmac(1, 10),
  2: ctrHmac(2, 8),
  3: ctrHmac(3, 4),
  4: { id: 4, name: 'AES_128_GCM_SHA256_128', aead: 'AES-GCM', hash: 'SHA-256', nh: 32, nk: 16, nn: 12, nt: 16 },
  5: { id: 5, name: 'AES_256_GCM_SHA512_128', aead: 'AES-GCM', hash: 'SHA-512', nh: 64, nk: 32, nn: 12, nt: 16 },
};

/** The project default: AES-GCM is hardware-accelerated everywhere and needs one WebCrypto call per frame. */
export const DEFAULT_SUITE: CipherSuiteId = 4;

export function getSuite(id: number | bigint): Result<CipherSuite> {
  const n = typeof id === 'bigint' ? Number(id) : id;
  const suite = Number.isInteger(n) ? CIPHER_SUITES[n as CipherSuiteId] : undefined;
  return suite ? ok(suite) : fail('UNSUPPORTED_SUITE', `unsupported SFrame cipher suite ${String(id)}`);
}
