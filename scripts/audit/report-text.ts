// The words both reports use: table cells, per-producer detail lines and the
// method section. Plain strings; report-md.ts and report-html.ts only format.

import { AUDIO_MIN_WINDOWS, AUDIO_RATIO_THRESHOLD, VIDEO_MIN_IDENTICAL, VIDEO_P_VALUE, VIDEO_SURROGATES } from './criteria.ts';
import { REPLAY_WINDOW } from '../../shared/sframe/index.ts';
import { AUDIO_TAG_BYTES, MIN_KID_FRAMES, FRESH_KEY_CTR, REORDER_FRAMES, TAG_BYTES } from './sframe-structure.ts';
import type { AuditSummary, ProducerAudit } from './types.ts';
import { MAX_DECODE_FRAMES, type VideoDecodeView } from './video-decode.ts';
import { producerLabel } from './verdict.ts';

export const pct = (a: number, b: number): string => (b === 0 ? '–' : `${((100 * a) / b).toFixed(1)}%`);

export const PRODUCER_COLUMNS = [
  'Producer',
  'Participant',
  'Source',
  'Codec',
  'Packets',
  'Frames',
  'SFrame-structured',
  'Entropy (random)',
  'Decodes as media',
  'Plaintext-looking',
];

function decodeCell(p: ProducerAudit): string {
  const d = p.decode;
  if (d.type === 'skipped') return `not run: ${d.reason}`;
  if (d.type === 'video') {
    const cellOf = (v: VideoDecodeView) => `${v.result} (${v.identical}/${v.frames} reproduced; random ${v.controlIdentical.join(', ')})`;
    return `${cellOf(d.asCaptured)}${d.stripped ? `; stripped: ${cellOf(d.stripped)}` : ''}`;
  }
  return (
    [d.asCaptured && `non-SFrame frames ${d.asCaptured.result}`, d.stripped && `stripped ${d.stripped.result}`]
      .filter(Boolean)
      .join('; ') || 'nothing to decode'
  );
}

export function producerRow(p: ProducerAudit): string[] {
  return [
    p.producerId.slice(0, 8),
    p.participantName,
    `${p.kind}/${p.source}`,
    p.codec,
    String(p.capture.packets),
    `${p.frames.complete}${p.frames.incomplete ? ` (+${p.frames.incomplete} incomplete)` : ''}`,
    `${p.sframe.consistent}/${p.sframe.frames} (${pct(p.sframe.consistent, p.sframe.frames)})`,
    `${p.entropy.meanBitsPerByte.toFixed(2)} (${p.entropy.meanExpectedRandom.toFixed(2)})`,
    decodeCell(p),
    `${p.plaintextFrames} (${pct(p.plaintextFrames, p.frames.complete)})`,
  ];
}

/** Detail lines for one producer, each a short sentence. */
export function producerDetails(p: ProducerAudit): string[] {
  const c = p.capture;
  const f = p.frames;
  const s = p.sframe;
  const lines: string[] = [];
  const malformed = Object.entries(c.malformed).map(([k, n]) => `${k} ${n}`);
  lines.push(
    `Capture: ${c.packets} packets, ${c.bytes} bytes in ${c.file}; ${c.mediaPackets} media packets with PT ${p.payloadType}, ` +
      `${c.otherPayloadType} with another PT (RTX etc., skipped), ${c.paddingOnly} padding-only, ${c.duplicatePackets} duplicates` +
      (malformed.length ? `, unparsable: ${malformed.join(', ')}` : '') +
      (c.error ? `; error: ${c.error}` : '') +
      '.',
  );
  lines.push(
    `Frames: ${f.complete} complete, ${f.incomplete} incomplete (left out), ${f.keyframes} keyframes` +
      (f.keyframeStartCodes !== undefined ? ` (${f.keyframeStartCodes} with the VP8 start code in their clear bytes)` : '') +
      `; size min ${f.sizeMin} / median ${f.sizeMedian} / mean ${Math.round(f.sizeMean)} / max ${f.sizeMax} bytes.`,
  );
  lines.push(
    `Entropy after the clear bytes: mean ${p.entropy.meanBitsPerByte.toFixed(3)} bits/byte; uniformly random bytes of the same lengths would give ${p.entropy.meanExpectedRandom.toFixed(3)}.`,
  );
  const kids = s.kids.map((k) => `${k.kid} (${k.frames} frames, CTR ${k.firstCtr}→${k.lastCtr})`).join(', ');
  const issues = Object.entries(s.issues).map(([k, n]) => `${k} ${n}`);
  lines.push(
    `SFrame: ${s.consistent}/${s.frames} frames consistent (${pct(s.consistent, s.frames)}), ${s.parsed} with a decodable header; ` +
      `${s.distinctKids} distinct KIDs seen, established: ${kids || 'none'}; ${s.kidSwitches} KID changes; ` +
      `${s.reordered} reordered (tolerated), ${s.duplicates} repeated frames` +
      (issues.length ? `; problems: ${issues.join(', ')} (e.g. ${s.examples.map((e) => `frame ${e.frame} ${e.issue}`).join(', ')})` : '') +
      '.',
  );
  const d = p.decode;
  if (d.type === 'skipped') lines.push(`Decode test: not run (${d.reason}).`);
  if (d.type === 'video') {
    for (const [name, v] of [
      ['as captured', d.asCaptured],
      ['stripped of SFrame header and tag', d.stripped],
    ] as const) {
      if (!v) continue;
      lines.push(
        `Decode ${name}: ${v.frames} frames (${v.keyframes} keyframes) → ${v.primary.decoder} output ${v.primary.decoded} (${v.primary.errorLines} error lines), ` +
          `${v.secondary.decoder} output ${v.secondary.decoded} (${v.secondary.errorLines} error lines); bit-identical in both: ${v.identical} (${v.identicalKeyframes} keyframes)` +
          (v.identicalFrames.length ? `, e.g. frames ${v.identicalFrames.slice(0, 8).join(', ')}` : '') +
          `; surrogate streams with random payloads: ${v.controlIdentical.join(', ')} bit-identical; p = ${v.pValue.toExponential(1)} → ${v.result}.`,
      );
    }
  }
  if (d.type === 'audio') {
    for (const [name, v] of [
      ['as captured (frames without SFrame structure)', d.asCaptured],
      ['stripped of SFrame header and tag', d.stripped],
    ] as const) {
      if (!v) continue;
      lines.push(
        `Decode ${name}: ${v.packets} packets → ${v.decoder} decoded ${v.decodedSeconds.toFixed(1)} s with ${v.errorLines} error lines; ` +
          `median energy step ${v.jumpinessDb.toFixed(2)} dB vs ${v.surrogateJumpinessDb.toFixed(2)} dB for random payloads (ratio ${v.ratio.toFixed(2)}) → ${v.result}.`,
      );
    }
  }
  return lines;
}

export { producerLabel };

export interface MethodSection {
  readonly title: string;
  readonly text: string;
}

export function methodSections(summary: AuditSummary): MethodSection[] {
  return [
    {
      title: 'What was captured',
      text:
        'The tap records every signaling message in and out, and every RTP packet the SFU forwards per producer, as the SFU has it after SRTP (plain RTP whose payload is the encrypted frame). ' +
        "The audit parses the RTP headers (CSRCs, one- and two-byte header extensions, padding), keeps the producer's payload type (RTX and other types are skipped), strips the VP8/VP9 payload descriptor, " +
        'and reassembles frames in sequence order. Frames with a missing packet are counted as incomplete and left out.',
    },
    {
      title: 'SFrame structure (strong evidence of encryption, not proof)',
      text:
        `After the codec's clear bytes (VP8 keyframe 10, VP8 delta 3, Opus 1, VP9 0) a frame must hold a decodable SFrame header and at least the tag (${TAG_BYTES} bytes; ${AUDIO_TAG_BYTES} for the microphone's compact KIDs 0-7). ` +
        `Because most random bytes also decode as some header, a frame only counts as SFrame-structured if its KID is carried by at least ${MIN_KID_FRAMES} frames of the same sender ` +
        `and its CTR is above all earlier CTRs of that KID in arrival order (small reorderings are tolerated: overtaken by at most ${REORDER_FRAMES} frames and within the ${REPLAY_WINDOW}-counter replay window), and no (KID, CTR) repeats with different bytes. ` +
        `A key rotated in just before the capture ended (or out just after it began) may carry a single frame; that is accepted only at the very start or end of a producer's stream, for one KID per edge, with a fresh key's counter (below ${FRESH_KEY_CTR}). ` +
        'Unencrypted media yields many random KIDs and counters that jump around, so it fails this almost everywhere. What this cannot rule out is an SFrame header put in front of unencrypted data: the "stripped" decode tests below cover that.',
    },
    {
      title: 'Video decode test (sound at stream level, with a control)',
      text:
        'ffmpeg accepting a frame without error is NOT evidence of plaintext for VP8: the clear frame tag keeps ciphertext looking like a VP8 frame, and with one token partition there is no size to check, so ffmpeg renders garbage silently. ' +
        'In our measurements 4–98% of SFrame-encrypted frames were accepted, depending on KID and CTR (the header bytes are what the decoder parses first); error counts and decoded/input ratios are therefore not used. ' +
        "Instead every frame is decoded by two independent decoders, ffmpeg's own and libvpx. VP8/VP9 decoding is bit-exact by specification, so real frames give identical pictures (100% of frames in every plaintext clip we measured), while garbage usually sends the two down different error paths " +
        '(at 640x480, 0 of 48,960 encrypted frames matched; but at 320x240 about 20% of keyframes with random content did, and up to 21 of 30 when the constant SFrame header came first; delta frames never did). Agreement is therefore judged against a control: ' +
        `surrogate streams with the same frame lengths, clear bytes and SFrame headers and random bytes in place of the ciphertext (${VIDEO_SURROGATES} per view). Ciphertext is indistinguishable from random by design, so it cannot be reproduced more often than the surrogates; ` +
        `the stream "decodes as media" when at least ${VIDEO_MIN_IDENTICAL} frames are reproduced and the binomial probability of that many at the surrogates' rate is below ${VIDEO_P_VALUE}. ` +
        `The test runs on the frames as captured, and again "stripped" ([clear bytes][SFrame body without the tag]) to catch an SFrame header in front of unencrypted video. At most ${MAX_DECODE_FRAMES} frames per producer are decoded. ` +
        'Single frames left unencrypted are caught by the per-frame SFrame structure check, not by this test.',
    },
    {
      title: 'Audio decode test (heuristic, with a control)',
      text:
        'Any byte string after an Opus TOC byte is a valid Opus packet: plaintext, ciphertext and random bytes all decode with zero errors, and the level of decoded ciphertext depends on the constant SFrame header bytes, so no absolute threshold on errors, level or spectrum is sound. ' +
        'The audit compares against a control instead: surrogate streams with the same packet lengths and TOC bytes and random bytes in place of the ciphertext. Proper ciphertext is indistinguishable from these, so its decoded audio must behave the same. ' +
        `The statistic is the median change of energy between 20 ms windows (floored at -60 dBFS so that near-silence does not flicker): random payloads jump by ~5–12 dB, real speech, tones, noise and silence by 0–2 dB. ` +
        'SFrame frames are tested stripped to [TOC][ciphertext without tag]; frames without SFrame structure are tested as they are. ' +
        `Audio counts as plaintext when the ratio capture/control is below ${AUDIO_RATIO_THRESHOLD} (measured: stripped ciphertext 0.73–1.26 over 190 trials, plaintext 0.00–0.19 including Chrome's fake microphone); ` +
        `with fewer than ${AUDIO_MIN_WINDOWS} windows the result is "inconclusive". This is a statistical signal over the whole stream, not per frame; per frame, Opus relies on the SFrame structure.`,
    },
    {
      title: 'Entropy (weak)',
      text: 'Shannon entropy of each frame after its clear bytes, next to what random bytes of the same length would give (short frames cannot reach 8 bits/byte). Compressed media is itself close to random, so high entropy does not prove encryption; markedly low entropy would be a red flag. It does not enter the verdict.',
    },
    {
      title: 'Key material',
      text: summary.keySearch.ran
        ? 'Each key is cut into 16-byte windows at every offset (shorter keys are one window), and each window is searched as raw bytes, hex (both cases), base64 and base64url in every signaling line, in everything decoded out of them ' +
          '(base64/base64url and hex tokens at every alignment, JSON strings holding JSON, byte arrays and serialised Uint8Arrays, recursively), in every captured RTP packet and in every reassembled frame. Keys under 8 bytes are not searched (random matches).'
        : 'No key file was given (--keys), so key material was not searched.',
    },
    {
      title: 'Verdict rule',
      text: 'BLIND requires: at least one complete frame captured; every frame of every media producer SFrame-structured; no frame decoding as media in either view; every producer with packets actually checked; no key material found. Anything else is NOT BLIND, with the reasons listed.',
    },
  ];
}
