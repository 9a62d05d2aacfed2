// The only module that touches libsodium. Everything else calls these small,
// synchronous helpers, which keeps the crypto choices in one place.

import sodium from 'libsodium-wrappers';
import { E2eeError } from './errors.ts';
import { CONTEXT, SIZE } from './constants.ts';
import { transcript } from './encoding.ts';

let isReady = false;

/** Must resolve once before any other function in shared/e2ee is used. */
export async function initCrypto(): Promise<void> {
  await sodium.ready;
  isReady = true;
}

export function cryptoReady(): boolean {
  return isReady;
}

function need(): typeof sodium {
  if (!isReady) throw new E2eeError('CRYPTO_NOT_READY', 'call initCrypto() first');
  return sodium;
}

export type RandomBytes = (length: number) => Uint8Array;

/**
 * The platform CSPRNG (crypto.getRandomValues, in browsers, workers and Node),
 * which is also what libsodium's JavaScript build draws from; asked directly,
 * it is one call per buffer instead of one per 4 bytes (randombytes_buf took
 * ~85 µs for 16 bytes in Node, and every message ID, nonce and key needs some).
 */
export const systemRandom: RandomBytes = (length) => {
  need();
  if (!Number.isSafeInteger(length) || length < 0) throw new E2eeError('INVALID_ARGUMENT', 'random length must be a non-negative integer');
  const out = new Uint8Array(length);
  // getRandomValues fills at most 65536 bytes per call.
  for (let at = 0; at < length; at += 65536) globalThis.crypto.getRandomValues(out.subarray(at, Math.min(length, at + 65536)));
  return out;
};

export interface SigningKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export function signKeyPairFromSeed(seed: Uint8Array): SigningKeyPair {
  const kp = need().crypto_sign_seed_keypair(seed);
  return { publicKey: kp.publicKey, privateKey: kp.privateKey };
}

export function sign(message: Uint8Array, privateKey: Uint8Array): Uint8Array {
  return need().crypto_sign_detached(message, privateKey);
}

export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIZE.signature || publicKey.length !== SIZE.identityPublicKey) return false;
  try {
    return need().crypto_sign_verify_detached(signature, message, publicKey);
  } catch (e) {
    if (e instanceof E2eeError) throw e;
    return false;
  }
}

/** BLAKE2b with the requested output length. */
export function hash(message: Uint8Array, length: number = SIZE.hash): Uint8Array {
  return need().crypto_generichash(length, message, null);
}

export interface DhKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export function dhKeyPairFromSeed(seed: Uint8Array): DhKeyPair {
  const kp = need().crypto_box_seed_keypair(seed);
  return { publicKey: kp.publicKey, privateKey: kp.privateKey };
}

/**
 * Key for wrapping epoch keys between two X25519 keys. crypto_box_beforenm is
 * symmetric (the leader and the recipient get the same value); hashing it
 * with both public keys in a fixed role order binds the key to this pair.
 */
export function wrapKey(
  leaderDhPublic: Uint8Array,
  recipientDhPublic: Uint8Array,
  peerPublic: Uint8Array,
  ownPrivate: Uint8Array,
): Uint8Array | undefined {
  let shared: Uint8Array;
  try {
    shared = need().crypto_box_beforenm(peerPublic, ownPrivate);
  } catch (e) {
    if (e instanceof E2eeError) throw e;
    return undefined;
  }
  const key = hash(transcript(CONTEXT.keyWrap, leaderDhPublic, recipientDhPublic, shared));
  need().memzero(shared);
  return key;
}

export const AEAD_NONCE_BYTES = 24;

/** XChaCha20-Poly1305 with associated data; returns nonce || ciphertext. */
export function seal(plaintext: Uint8Array, ad: Uint8Array, key: Uint8Array, random: RandomBytes): Uint8Array {
  const nonce = random(AEAD_NONCE_BYTES);
  const ct = need().crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key);
  const out = new Uint8Array(nonce.length + ct.length);
  out.set(nonce);
  out.set(ct, nonce.length);
  return out;
}

export function open(box: Uint8Array, ad: Uint8Array, key: Uint8Array): Uint8Array | undefined {
  if (box.length <= AEAD_NONCE_BYTES) return undefined;
  try {
    return need().crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      box.subarray(AEAD_NONCE_BYTES),
      ad,
      box.subarray(0, AEAD_NONCE_BYTES),
      key,
    );
  } catch (e) {
    if (e instanceof E2eeError) throw e;
    return undefined;
  }
}

/** Best-effort erasure of key material held in JS memory. */
export function wipe(bytes: Uint8Array): void {
  bytes.fill(0);
}
