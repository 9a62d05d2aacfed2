// Does each captured frame look like [clear bytes][SFrame header][ciphertext][tag]?
//
// A single frame proves little: most random byte strings start with something
// that decodes as an SFrame header (every config byte is valid; only
// non-minimal or truncated fields are refused). What plaintext cannot fake is
// the stream-level pattern: a few KIDs, each carried by many frames, with
// counters that only grow. So a frame is "SFrame-consistent" only if
//   - its header decodes after the codec's clear bytes and leaves room for the tag,
//   - its KID is carried by at least MIN_KID_FRAMES frames of the same sender
//     (all of a sender's tracks share one key and one counter), and
//   - its CTR is above every earlier CTR of that KID in arrival order, or is
//     only slightly out of order: above every CTR that arrived more than
//     REORDER_FRAMES frames earlier, and at most REPLAY_WINDOW below the
//     highest (what receivers accept), and
//   - it does not repeat an earlier (KID, CTR) with different bytes (that
//     would be AES-GCM nonce reuse).
// One exception keeps real captures from failing at their edges: a key
// rotated in just before the capture ends (someone left, then everyone else
// left) or rotated out just after it began may carry a single frame. Such a
// KID is accepted only at the very start or end of the producer's stream (no
// established KID before / after it), only one KID per edge, and only with a
// fresh key's counter (below FRESH_KEY_CTR), which random bytes rarely give.

import { CIPHER_SUITES, clearByteCount, COMPACT_KID_SLOTS, decodeHeader, DEFAULT_SUITE, REPLAY_WINDOW } from '../../shared/sframe/index.ts';
import { AUDIO_SUITE } from '../../shared/e2ee/audio-key.ts';

/** AES_128_GCM_SHA256_128: camera and screen share (full KIDs). */
export const TAG_BYTES = CIPHER_SUITES[DEFAULT_SUITE].nt;
/** AES_128_CTR_HMAC_SHA256_64: the microphone, whose frames carry compact KIDs (0-7; protocol.md §7.3a). */
export const AUDIO_TAG_BYTES = CIPHER_SUITES[AUDIO_SUITE].nt;

/** The tag length a frame under `kid` carries: the KID's format tells the suite. */
export function tagBytesOf(kid: bigint): number {
  return kid < BigInt(COMPACT_KID_SLOTS) ? AUDIO_TAG_BYTES : TAG_BYTES;
}
export const MIN_KID_FRAMES = 2;
/** How far back in arrival order a frame may have been overtaken (RTP reordering is a few packets). */
export const REORDER_FRAMES = 16;
/** A key first used at the capture's edge has sent few frames: its CTR is small. */
export const FRESH_KEY_CTR = 64n;

export type SFrameIssue =
  'FRAME_TOO_SHORT' | 'HEADER_MALFORMED' | 'NO_ROOM_FOR_TAG' | 'KID_UNESTABLISHED' | 'CTR_REGRESSION' | 'CTR_REUSED';

export interface SFrameView {
  /** Codec clear bytes at the front (undefined: frame shorter than them). */
  readonly clear: number | undefined;
  readonly kid?: bigint;
  readonly ctr?: bigint;
  readonly headerLength?: number;
  /** Tag length for the KID's format (tagBytesOf). */
  readonly tagLength?: number;
  /** Set when the bytes cannot be [clear][header][body ≥ tag]. */
  readonly issue?: 'FRAME_TOO_SHORT' | 'HEADER_MALFORMED' | 'NO_ROOM_FOR_TAG';
}

/** Reads one frame the way a receiver would, without a key. */
export function viewFrame(codec: string, frame: Uint8Array): SFrameView {
  const clear = clearByteCount(codec, frame[0], frame.length);
  if (clear === undefined) return { clear, issue: 'FRAME_TOO_SHORT' };
  const header = decodeHeader(frame, clear);
  if (!header.ok) return { clear, issue: 'HEADER_MALFORMED' };
  const { kid, ctr, length } = header.value;
  const tagLength = tagBytesOf(kid);
  if (frame.length - clear - length < tagLength) return { clear, kid, ctr, headerLength: length, tagLength, issue: 'NO_ROOM_FOR_TAG' };
  return { clear, kid, ctr, headerLength: length, tagLength };
}

export interface KidSummary {
  readonly kid: string;
  readonly frames: number;
  readonly firstCtr: string;
  readonly lastCtr: string;
}

export interface FrameVerdict {
  readonly consistent: boolean;
  readonly issue?: SFrameIssue;
}

export interface SFrameStructure {
  readonly frames: number;
  /** Header decodes with room for the tag. */
  readonly parsed: number;
  readonly consistent: number;
  readonly consistentFraction: number;
  readonly kids: KidSummary[];
  /** Distinct KIDs in decodable headers, established or not (plaintext gives many). */
  readonly distinctKids: number;
  /** Changes of KID between consecutive frames in arrival order. */
  readonly kidSwitches: number;
  /** CTR below the running maximum but within the replay window (tolerated). */
  readonly reordered: number;
  /** Same KID, CTR and bytes as an earlier frame (harmless repeat). */
  readonly duplicates: number;
  /** Frames under a single-frame KID at the very start or end of the capture (a key rotated at the edge). */
  readonly edgeKeyFrames: number;
  readonly issues: Partial<Record<SFrameIssue, number>>;
  readonly examples: Array<{ frame: number; issue: SFrameIssue }>;
}

export interface StructureInput {
  /** Frames in arrival order, with their index in the producer and bytes. */
  readonly frames: ReadonlyArray<{ readonly index: number; readonly data: Uint8Array }>;
  readonly views: readonly SFrameView[];
  /** Frames per KID across every producer of the same sender. */
  readonly senderKidFrames: ReadonlyMap<bigint, number>;
}

const MAX_EXAMPLES = 10;

export function checkStructure(input: StructureInput): { summary: SFrameStructure; verdicts: FrameVerdict[] } {
  const verdicts: FrameVerdict[] = [];
  // prefixMax[i]: highest CTR among this KID's first i+1 accepted frames.
  const perKid = new Map<
    bigint,
    { frames: number; first: bigint; last: bigint; max: bigint; prefixMax: bigint[]; seen: Map<bigint, Uint8Array> }
  >();
  const issues: Partial<Record<SFrameIssue, number>> = {};
  const examples: Array<{ frame: number; issue: SFrameIssue }> = [];
  let parsed = 0;
  let reordered = 0;
  let duplicates = 0;
  let kidSwitches = 0;
  let prevKid: bigint | undefined;
  const allKids = new Set<bigint>();
  const flag = (frame: number, issue: SFrameIssue): FrameVerdict => {
    issues[issue] = (issues[issue] ?? 0) + 1;
    if (examples.length < MAX_EXAMPLES) examples.push({ frame, issue });
    return { consistent: false, issue };
  };

  const edge = edgeKeyFrames(input);
  input.frames.forEach((f, i) => {
    const v = input.views[i]!;
    if (v.kid !== undefined) {
      allKids.add(v.kid);
      if (prevKid !== undefined && prevKid !== v.kid) kidSwitches++;
      prevKid = v.kid;
    }
    if (v.issue !== undefined || v.kid === undefined || v.ctr === undefined) {
      verdicts.push(flag(f.index, v.issue ?? 'HEADER_MALFORMED'));
      return;
    }
    parsed++;
    const { kid, ctr } = v;
    if ((input.senderKidFrames.get(kid) ?? 0) < MIN_KID_FRAMES) {
      verdicts.push(edge.has(i) ? { consistent: true } : flag(f.index, 'KID_UNESTABLISHED'));
      return;
    }
    let k = perKid.get(kid);
    if (!k) {
      k = { frames: 0, first: ctr, last: ctr, max: ctr, prefixMax: [], seen: new Map() };
      perKid.set(kid, k);
    } else {
      const earlier = k.seen.get(ctr);
      if (earlier) {
        if (bytesEqual(earlier, f.data)) {
          duplicates++;
          verdicts.push({ consistent: true });
          return;
        }
        verdicts.push(flag(f.index, 'CTR_REUSED'));
        return;
      }
      if (ctr < k.max) {
        const before = k.prefixMax[k.prefixMax.length - 1 - REORDER_FRAMES];
        if (k.max - ctr > BigInt(REPLAY_WINDOW) || (before !== undefined && ctr <= before)) {
          verdicts.push(flag(f.index, 'CTR_REGRESSION'));
          return;
        }
        reordered++;
      }
    }
    k.frames++;
    k.last = ctr;
    if (ctr > k.max) k.max = ctr;
    k.prefixMax.push(k.max);
    k.seen.set(ctr, f.data);
    verdicts.push({ consistent: true });
  });

  const consistent = verdicts.filter((v) => v.consistent).length;
  const frames = input.frames.length;
  return {
    summary: {
      frames,
      parsed,
      consistent,
      consistentFraction: frames === 0 ? 0 : consistent / frames,
      kids: [...perKid].map(([kid, k]) => ({
        kid: `0x${kid.toString(16)}`,
        frames: k.frames,
        firstCtr: k.first.toString(),
        lastCtr: k.last.toString(),
      })),
      distinctKids: allKids.size,
      kidSwitches,
      reordered,
      duplicates,
      edgeKeyFrames: edge.size,
      issues,
      examples,
    },
    verdicts,
  };
}

/**
 * Positions of frames whose KID is unestablished but sits at the edge of the
 * stream: before the first or after the last frame of an established KID, one
 * KID per edge, with a fresh key's counter.
 */
function edgeKeyFrames(input: StructureInput): Set<number> {
  const established = (i: number): boolean => {
    const v = input.views[i]!;
    return v.issue === undefined && v.kid !== undefined && (input.senderKidFrames.get(v.kid) ?? 0) >= MIN_KID_FRAMES;
  };
  const n = input.frames.length;
  let first = 0;
  while (first < n && !established(first)) first++;
  if (first === n) return new Set(); // nothing established: no edge to speak of
  let last = n - 1;
  while (last >= 0 && !established(last)) last--;
  const out = new Set<number>();
  // Every unestablished frame in [from, to) must be one fresh key, or none is accepted.
  const take = (from: number, to: number): void => {
    const kids = new Set<bigint>();
    for (let i = from; i < to; i++) {
      const v = input.views[i]!;
      if (v.issue !== undefined || v.kid === undefined || v.ctr === undefined || v.ctr >= FRESH_KEY_CTR) return;
      kids.add(v.kid);
    }
    if (kids.size === 1) for (let i = from; i < to; i++) out.add(i);
  };
  take(0, first);
  take(last + 1, n);
  return out;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
