// The decisions, in one place, with the evidence behind each threshold.
// (scripts/audit/calibrate.ts reruns the experiments these numbers come from.)

import { binomialUpperTail } from './stats.ts';
//
// VIDEO. "ffmpeg decodes it without error" is NOT a sound test for VP8: the
// clear frame tag and keyframe header stay valid, and what follows parses as
// bool-coded data. With a single token partition there is no size to check,
// so ffmpeg's vp8 decoder renders garbage silently. Measured on 120-frame
// SFrame-encrypted clips: 4-98% of frames accepted depending on KID and CTR
// (the header bytes are what the decoder parses first; KID 6 at CTR 70000 gave
// 117/120). Error counts and decoded/input counts are therefore unsound.
// Much better is agreement of two independent decoders: VP8/VP9 decoding is
// bit-exact by specification, so ffmpeg's own decoder and libvpx give
// identical pictures for every real frame (100% in every plaintext clip),
// while garbage usually sends them down different error paths. Usually, not
// always: at 640x480 no encrypted frame of 48,960 matched, but at 320x240
// about 20% of keyframes with random bytes after the clear bytes did, and up
// to 21 of 30 keyframes when the (constant) SFrame header came first; delta
// frames never did. So agreement is a per-frame signal, not a per-frame proof,
// and the decision is made against a control: surrogate streams with the same lengths, clear bytes and SFrame
// headers, and random bytes in place of the ciphertext. Ciphertext is
// indistinguishable from those by design, so it cannot be reproduced more
// often than they are; real video is reproduced almost always. Decision: the
// stream decodes as media iff at least VIDEO_MIN_IDENTICAL frames are
// reproduced and P(Binomial(n, p0) >= identical) < VIDEO_P_VALUE, p0 being the
// surrogates' rate (Laplace-smoothed). Per-frame leaks (some frames not
// encrypted at all) are caught by the SFrame structure check, which is per frame.
export const VIDEO_SURROGATES = 2;
export const VIDEO_MIN_IDENTICAL = 3;
export const VIDEO_P_VALUE = 1e-6;

export type VideoResult = 'decodes-as-media' | 'like-random';

export function classifyVideo(
  identical: number,
  frames: number,
  controlIdentical: readonly number[],
): { pValue: number; result: VideoResult } {
  const p0 = (controlIdentical.reduce((a, b) => a + b, 0) + 1) / (controlIdentical.length * frames + 2);
  const pValue = binomialUpperTail(identical, frames, p0);
  return { pValue, result: identical >= VIDEO_MIN_IDENTICAL && pValue < VIDEO_P_VALUE ? 'decodes-as-media' : 'like-random' };
}

// AUDIO. Every byte string after a TOC byte is a valid Opus packet: plaintext,
// ciphertext and random bytes all decode with zero errors, and the decoded
// level of ciphertext depends on the (constant) SFrame header bytes, so no
// absolute level or spectrum threshold is sound either. Sound is a comparison
// against a control: surrogate streams with the same lengths and TOC bytes and
// random bytes where the ciphertext is. Ciphertext is indistinguishable from
// that by design, so any statistic must come out the same; real audio must
// not. The statistic is the median energy step between 20 ms windows, energies
// floored at -60 dBFS (audio-features.ts). It is applied to SFrame frames
// stripped to [TOC][ciphertext without tag], and to frames without SFrame
// structure as they are; decoding [TOC][SFrame header]... is not used, because
// the constant header dominates the decode and the ratio became unstable
// (down to 0.14 for ciphertext). Measured ratio capture/control, stripped
// ciphertext: 0.73-1.26 (190 trials: tone, noise, silence, synthetic speech,
// SILK/hybrid/CELT, Chrome's fake microphone); plaintext: 0.00-0.19.
// Threshold 0.5; below AUDIO_MIN_WINDOWS windows the ratio is too noisy and
// the result is "inconclusive" (not counted as audio).
export const AUDIO_RATIO_THRESHOLD = 0.5;
export const AUDIO_MIN_WINDOWS = 50;
export const AUDIO_SURROGATES = 3;

export type AudioLikeness = 'audio-like' | 'noise-like' | 'inconclusive';

export function classifyAudio(jumpiness: number, surrogateJumpiness: number, windows: number): { ratio: number; result: AudioLikeness } {
  const ratio = surrogateJumpiness > 0 ? jumpiness / surrogateJumpiness : jumpiness > 0 ? Infinity : 1;
  if (windows < AUDIO_MIN_WINDOWS) return { ratio, result: 'inconclusive' };
  return { ratio, result: ratio < AUDIO_RATIO_THRESHOLD ? 'audio-like' : 'noise-like' };
}

// SFRAME STRUCTURE. Every frame of every media producer must be
// SFrame-consistent (sframe-structure.ts); the fraction is reported, and any
// exception is listed, because one plaintext frame is one frame too many.
// This per-frame check is what catches partial leaks (a few frames sent
// unencrypted), which the stream-level decode tests are not built to see.
