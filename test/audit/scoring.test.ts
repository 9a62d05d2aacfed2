import { describe, expect, it } from 'vitest';
import { jumpinessDb, windowEnergiesDb } from '../../scripts/audit/audio-features.ts';
import { classifyAudio, classifyVideo } from '../../scripts/audit/criteria.ts';
import { entropyHistogram, expectedRandomEntropy, shannonEntropy } from '../../scripts/audit/entropy.ts';
import { binomialUpperTail } from '../../scripts/audit/stats.ts';
import { decideVerdict, keyFindings } from '../../scripts/audit/verdict.ts';
import { SeededBytes } from '../../scripts/audit/rng.ts';

describe('entropy', () => {
  it('is 0 for constant bytes and 8 for every byte value once', () => {
    expect(shannonEntropy(new Uint8Array(100))).toBe(0);
    expect(shannonEntropy(Uint8Array.from({ length: 256 }, (_, i) => i))).toBeCloseTo(8, 10);
  });

  it('knows random bytes fall short of 8 bits/byte in short frames', () => {
    const rng = new SeededBytes('ent');
    const mean = Array.from({ length: 200 }, () => shannonEntropy(rng.next(100))).reduce((a, b) => a + b) / 200;
    expect(expectedRandomEntropy(100)).toBeCloseTo(mean, 1);
    expect(expectedRandomEntropy(100_000)).toBeGreaterThan(7.99);
    expect(entropyHistogram([0, 7.99, 8, 4], 4)).toEqual([1, 0, 1, 2]);
  });
});

describe('decision rules', () => {
  it('binomial tail is exact', () => {
    expect(binomialUpperTail(5, 10, 0.5)).toBeCloseTo(638 / 1024, 12);
    expect(binomialUpperTail(0, 10, 0.1)).toBe(1);
  });

  it('calls video media only when it is reproduced far more often than random payloads', () => {
    expect(classifyVideo(30, 30, [0, 1]).result).toBe('decodes-as-media');
    expect(classifyVideo(21, 30, [16, 20]).result).toBe('like-random'); // header-driven garbage agreement
    expect(classifyVideo(2, 30, [0, 0]).result).toBe('like-random'); // too few to say
  });

  it('calls audio real when its energy is far smoother than random payloads', () => {
    expect(classifyAudio(0.5, 9, 100).result).toBe('audio-like');
    expect(classifyAudio(8, 9, 100).result).toBe('noise-like');
    expect(classifyAudio(0.1, 9, 10).result).toBe('inconclusive');
  });

  it('measures energy steps between 20 ms windows', () => {
    const steady = new Float32Array(9600).map((_, i) => 0.1 * Math.sin(i / 5));
    expect(windowEnergiesDb(steady)).toHaveLength(10);
    expect(jumpinessDb(windowEnergiesDb(steady))).toBeLessThan(0.1);
    const bursts = new Float32Array(9600).map((_, i) => (Math.floor(i / 960) % 2 ? 0.5 : 0.005) * Math.sin(i / 5));
    expect(jumpinessDb(windowEnergiesDb(bursts))).toBeGreaterThan(30);
  });

  it('does not count the flicker of near-silence as jumps', () => {
    const hiss = new Float32Array(9600).map((_, i) => (Math.floor(i / 960) % 2 ? 1e-4 : 1e-5) * Math.sin(i / 5));
    expect(jumpinessDb(windowEnergiesDb(hiss))).toBe(0);
  });

  it('is never BLIND when nothing was captured', () => {
    expect(decideVerdict({ totalFrames: 0, producerFindings: [], keyFindings: [] })).toMatchObject({
      verdict: 'NOT BLIND',
      reasons: [expect.stringContaining('nothing captured')],
    });
    expect(decideVerdict({ totalFrames: 10, producerFindings: [], keyFindings: [] })).toEqual({ verdict: 'BLIND', reasons: [] });
  });

  it('names each leaked key once, with where it was found', () => {
    const hit = (where: string) => ({ label: 'epoch 3 key', form: 'hex', offset: 0, length: 32, keyLength: 32, where });
    expect(keyFindings([hit('signaling.jsonl line 12'), hit('signaling.jsonl line 40')])).toEqual([
      "key 'epoch 3 key' found: hex in signaling.jsonl line 12; hex in signaling.jsonl line 40",
    ]);
  });
});
