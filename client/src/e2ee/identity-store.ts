// The browser profile's long-term Ed25519 identity, kept in IndexedDB across
// visits (only its 32-byte seed is stored). A guest gets a one-meeting identity
// that is never written anywhere.

import { generateIdentity, identityFromSeed, type IdentityKeyPair } from '../../../shared/e2ee/index.ts';

const DB = 'e2ee-meet';
const STORE = 'identity';
const KEY = 'ed25519-seed';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB unavailable'));
  });
}

function tx<T>(db: IDBDatabase, mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = fn(db.transaction(STORE, mode).objectStore(STORE));
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

export interface LoadedIdentity {
  identity: IdentityKeyPair;
  /** 'stored': from this profile; 'new': just made and stored; 'guest': one meeting only. */
  origin: 'stored' | 'new' | 'guest';
}

export async function loadIdentity(guest: boolean): Promise<LoadedIdentity> {
  if (guest) return { identity: generateIdentity(), origin: 'guest' };
  try {
    const db = await open();
    const seed = await tx<unknown>(db, 'readonly', (s) => s.get(KEY));
    if (seed instanceof Uint8Array) {
      const r = identityFromSeed(seed);
      if (r.ok) return { identity: r.value, origin: 'stored' };
    }
    const identity = generateIdentity();
    await tx(db, 'readwrite', (s) => s.put(identity.privateKey.slice(0, 32), KEY));
    return { identity, origin: 'new' };
  } catch {
    // Private browsing or storage disabled: still encrypt, with a one-meeting identity.
    return { identity: generateIdentity(), origin: 'guest' };
  }
}
