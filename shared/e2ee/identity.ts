// Long-term identity: one Ed25519 key pair per browser profile. Persisting it
// (IndexedDB) is the client's job; this module only makes and checks them.

import { SIZE } from './constants.ts';
import { fail, ok, type Result } from './errors.ts';
import { signKeyPairFromSeed, systemRandom, type RandomBytes } from './primitives.ts';

export interface IdentityKeyPair {
  /** Ed25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** libsodium Ed25519 secret key, 64 bytes (seed || public key). */
  privateKey: Uint8Array;
}

export function generateIdentity(random: RandomBytes = systemRandom): IdentityKeyPair {
  return signKeyPairFromSeed(random(32));
}

/** Rebuilds a stored identity from its 32-byte seed (the first half of privateKey). */
export function identityFromSeed(seed: Uint8Array): Result<IdentityKeyPair> {
  if (seed.length !== 32) return fail('INVALID_ARGUMENT', 'identity seed must be 32 bytes');
  return ok(signKeyPairFromSeed(seed));
}

export function isIdentityKeyPair(v: IdentityKeyPair): boolean {
  return v.publicKey.length === SIZE.identityPublicKey && v.privateKey.length === SIZE.identityPrivateKey;
}
