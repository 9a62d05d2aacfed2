// Features of decoded audio that separate real sound from what an Opus
// decoder makes of random bytes. Any byte string after a valid TOC byte is a
// valid Opus packet, so the decoder never refuses ciphertext; but random
// symbols give loud, jumpy output whose level changes by ~5-12 dB from one
// 20 ms window to the next, while speech, tones, noise and silence change
// smoothly (median steps of 0-2 dB).

export const WINDOW_SAMPLES = 960; // 20 ms at 48 kHz, the usual Opus frame

// Energies are floored: in near-silence (comfort noise, a muted or beeping
// test microphone) the dB value of a tiny signal swings by several dB from
// window to window, which made real plaintext from Chrome's fake microphone
// score 0.43 against random payloads; with the floor it scores 0.00. The same
// floor applies to capture and control, so the comparison stays fair.
export const ENERGY_FLOOR_DB = -60;

/** Log energy (dB re full scale, floored) of each whole window. */
export function windowEnergiesDb(pcm: Float32Array, window = WINDOW_SAMPLES): number[] {
  const out: number[] = [];
  for (let s = 0; s + window <= pcm.length; s += window) {
    let e = 0;
    for (let i = s; i < s + window; i++) e += pcm[i]! * pcm[i]!;
    out.push(Math.max(ENERGY_FLOOR_DB, 10 * Math.log10(e / window + 1e-12)));
  }
  return out;
}

/** Median absolute change of energy between consecutive windows, in dB. */
export function jumpinessDb(energies: readonly number[]): number {
  if (energies.length < 2) return 0;
  const d = energies.slice(1).map((e, i) => Math.abs(e - energies[i]!));
  d.sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
