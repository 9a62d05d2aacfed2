// People the user marked as verified (after comparing the security code or a
// fingerprint out of band), stored locally per identity key. A name that was
// verified under another key is flagged: same person, new identity — or not
// the same person.

import { bytesToHex } from '../../../shared/bytes.ts';
const STORAGE_KEY = 'e2ee-verified-identities';

export interface VerifiedRecord {
  name: string;
  at: number;
}

export type Verification = 'verified' | 'unverified' | 'identity-changed';

export class VerifiedStore {
  private records: Record<string, VerifiedRecord>;

  constructor(private readonly storage: Pick<Storage, 'getItem' | 'setItem'> = localStorage) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(storage.getItem(STORAGE_KEY) ?? '{}');
    } catch {
      parsed = {};
    }
    this.records = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, VerifiedRecord>) : {};
  }

  status(identityKey: Uint8Array, name: string): Verification {
    if (this.records[bytesToHex(identityKey)]) return 'verified';
    const sameName = Object.values(this.records).some((r) => r.name.toLowerCase() === name.toLowerCase());
    return sameName ? 'identity-changed' : 'unverified';
  }

  set(identityKey: Uint8Array, name: string, verified: boolean): void {
    const k = bytesToHex(identityKey);
    if (verified) this.records[k] = { name, at: Date.now() };
    else delete this.records[k];
    this.storage.setItem(STORAGE_KEY, JSON.stringify(this.records));
  }
}
