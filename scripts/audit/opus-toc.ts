// The Opus TOC byte (RFC 6716 §3.1): config (5 bits: mode, bandwidth, frame
// duration), stereo flag, and frame-count code. It is the one clear byte of an
// encrypted Opus frame, so it stays readable even in ciphertext.

export type OpusMode = 'SILK' | 'Hybrid' | 'CELT';

export interface OpusToc {
  readonly config: number;
  readonly mode: OpusMode;
  readonly stereo: boolean;
  /** 0: one frame, 1: two equal frames, 2: two frames, 3: arbitrary count. */
  readonly code: number;
  /** Duration of one frame in 48 kHz samples. */
  readonly frameSamples: number;
}

const SILK_SAMPLES = [480, 960, 1920, 2880];
const HYBRID_SAMPLES = [480, 960];
const CELT_SAMPLES = [120, 240, 480, 960];

export function parseOpusToc(toc: number): OpusToc {
  const config = toc >> 3;
  const stereo = (toc & 0x04) !== 0;
  const code = toc & 0x03;
  if (config < 12) return { config, mode: 'SILK', stereo, code, frameSamples: SILK_SAMPLES[config & 3]! };
  if (config < 16) return { config, mode: 'Hybrid', stereo, code, frameSamples: HYBRID_SAMPLES[config & 1]! };
  return { config, mode: 'CELT', stereo, code, frameSamples: CELT_SAMPLES[config & 3]! };
}

/**
 * Samples (48 kHz) one packet decodes to, from its TOC and, for code 3, the
 * frame-count byte. In ciphertext that byte is encrypted, so the count is
 * clamped to the 120 ms a packet may hold: the granule stays plausible.
 */
export function opusPacketSamples(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) return 0;
  const t = parseOpusToc(toc);
  let frames = t.code === 0 ? 1 : t.code === 3 ? (packet[1] ?? 0) & 0x3f : 2;
  frames = Math.max(1, Math.min(frames, Math.floor(5760 / t.frameSamples)));
  return frames * t.frameSamples;
}
