// HKDF-SHA256 (RFC 5869), synchronous. Byte for byte what WebCrypto's HKDF
// deriveBits returns for the same salt, info and length (see
// test/e2ee/keys-and-codes.test.ts), but one extract per epoch and one HMAC per
// derived key, with no async WebCrypto round trip per key: a member derives
// every sender's SFrame base key each epoch, so this runs N times per rotation.

import { extract } from '@noble/hashes/hkdf.js';
import { hmac, type _HMAC } from '@noble/hashes/hmac.js';
import { sha256, type _SHA256 } from '@noble/hashes/sha2.js';
import { wipe } from './primitives.ts';

const HASH_LEN = 32;
const COUNTER_1 = Uint8Array.of(1);

/** One HKDF-Extract (PRK from input key and salt), then any number of one-block expansions. */
export class HkdfSha256 {
  private readonly base: _HMAC<_SHA256>;
  /** Reused for every expansion (state copied from `base`, erased by each digest): no allocation per key. */
  private scratch: _HMAC<_SHA256> | undefined;

  constructor(ikm: Uint8Array, salt: Uint8Array) {
    const prk = extract(sha256, ikm, salt);
    this.base = hmac.create(sha256, prk);
    wipe(prk);
  }

  /**
   * HKDF-Expand to `length` ≤ 32 bytes: T(1) = HMAC(PRK, info || 0x01), where
   * info is the concatenation of `info` (split only to avoid copying).
   */
  expand(length: number, ...info: readonly Uint8Array[]): Uint8Array {
    if (!Number.isInteger(length) || length < 1 || length > HASH_LEN) throw new RangeError('HKDF output must be 1..32 bytes here');
    const h = this.base._cloneInto(this.scratch);
    this.scratch = h;
    for (const part of info) h.update(part);
    h.update(COUNTER_1);
    const t1 = h.digest(); // also erases the copy's state
    if (length === HASH_LEN) return t1;
    const out = t1.slice(0, length);
    wipe(t1);
    return out;
  }

  /** Erases the PRK's HMAC state. */
  destroy(): void {
    this.base.destroy();
    this.scratch?.destroy();
  }
}
