// A seeded byte stream (AES-128-CTR over zeros), so surrogate streams, and
// therefore audit results, are the same on every run over the same capture.

import { createCipheriv, createHash } from 'node:crypto';

export class SeededBytes {
  private readonly cipher;

  constructor(seed: string) {
    const key = createHash('sha256').update(seed).digest().subarray(0, 16);
    this.cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  }

  next(n: number): Uint8Array {
    return new Uint8Array(this.cipher.update(Buffer.alloc(n)));
  }
}

/** Same lengths and the same first keep[i] bytes, random after: what ciphertext would look like. */
export function surrogate(frames: readonly Uint8Array[], keep: readonly number[], rng: SeededBytes): Uint8Array[] {
  return frames.map((f, i) => {
    const k = Math.min(keep[i] ?? 0, f.length);
    const out = new Uint8Array(f.length);
    out.set(f.subarray(0, k));
    out.set(rng.next(f.length - k), k);
    return out;
  });
}
