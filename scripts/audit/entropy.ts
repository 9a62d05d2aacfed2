// Shannon entropy of byte strings, and what uniformly random bytes of the
// same length would give. The comparison matters: n random bytes cannot reach
// 8 bits/byte when n is small (100 random bytes give about 6.2), so a raw
// number means little without its expectation. Entropy is a weak signal here
// anyway: compressed media is itself close to random, so high entropy does not
// prove encryption; only low entropy would be a red flag.

export function shannonEntropy(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  const counts = new Uint32Array(256);
  for (const b of bytes) counts[b]!++;
  let h = 0;
  for (const c of counts) {
    if (c === 0) continue;
    const p = c / bytes.length;
    h -= p * Math.log2(p);
  }
  return h;
}

const expectedCache = new Map<number, number>();

/**
 * E[plug-in entropy] of n independent uniform bytes: 256 · E[-(c/n)·log2(c/n)]
 * with c ~ Binomial(n, 1/256), summed over c until the tail is negligible.
 */
export function expectedRandomEntropy(n: number): number {
  if (n <= 1) return 0;
  const cached = expectedCache.get(n);
  if (cached !== undefined) return cached;
  const p = 1 / 256;
  const mean = n * p;
  const limit = Math.min(n, Math.ceil(mean + 12 * Math.sqrt(mean) + 12));
  // pmf(c) built incrementally in log space: lgamma is not in Math.
  let logPmf = n * Math.log1p(-p); // c = 0
  let sum = 0;
  for (let c = 1; c <= limit; c++) {
    logPmf += Math.log((n - c + 1) / c) + Math.log(p / (1 - p));
    const q = c / n;
    sum += Math.exp(logPmf) * -q * Math.log2(q);
  }
  const h = 256 * sum;
  expectedCache.set(n, h);
  return h;
}

/** Counts per bin of width 8/bins over [0, 8]. */
export function entropyHistogram(values: readonly number[], bins = 32): number[] {
  const out = new Array<number>(bins).fill(0);
  for (const v of values) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor((v / 8) * bins)));
    out[i]!++;
  }
  return out;
}
