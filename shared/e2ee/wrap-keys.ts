// X25519 wrap keys per peer, cached: the DH is the expensive part of sealing
// and opening key entries, and a peer's DH key is fixed for the meeting.

import { toBase64Url } from './encoding.ts';
import { wipe, wrapKey, type DhKeyPair } from './primitives.ts';

export class WrapKeyCache {
  private readonly keys = new Map<string, Uint8Array>();

  constructor(
    private readonly dh: DhKeyPair,
    private readonly exportSecret: (label: string, bytes: Uint8Array) => void,
  ) {}

  /** As leader we seal to a member's key; as member we open what a leader sealed. */
  get(role: 'lead' | 'member', peerDh: Uint8Array): Uint8Array | undefined {
    const id = `${role}:${toBase64Url(peerDh)}`;
    const hit = this.keys.get(id);
    if (hit) return hit;
    const { publicKey, privateKey } = this.dh;
    // The leader's public key comes first in the derivation, on both sides.
    const key = role === 'lead' ? wrapKey(publicKey, peerDh, peerDh, privateKey) : wrapKey(peerDh, publicKey, peerDh, privateKey);
    if (key) {
      this.keys.set(id, key);
      this.exportSecret(`wrap key (${role}) with X25519 key ${toBase64Url(peerDh)}`, key);
    }
    return key;
  }

  clear(): void {
    for (const k of this.keys.values()) wipe(k);
    this.keys.clear();
  }
}
