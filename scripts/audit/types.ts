// The audit's result: what summary.json holds and the reports render.

import type { AudioDecodeView } from './audio-decode.ts';
import type { PacketCounts } from './extract.ts';
import type { KeySpec } from './key-search.ts';
import type { SFrameStructure } from './sframe-structure.ts';
import type { ProducerIdentity } from './tap-reader.ts';
import type { VideoDecodeView } from './video-decode.ts';

export type { KeySpec } from './key-search.ts';

export type Verdict = 'BLIND' | 'NOT BLIND';

export interface AuditOptions {
  keys?: KeySpec[];
  /** ffmpeg executable (default "ffmpeg" on PATH). */
  ffmpeg?: string;
  /** Keep the IVF/Ogg files handed to the decoders in <instance>/audit-media/. */
  keepMedia?: boolean;
  /** Write report.md, report.html, summary.json into the tap directory (default true). */
  writeReports?: boolean;
}

export interface CaptureStats extends PacketCounts {
  readonly file: string;
  readonly error?: string;
}

export interface FrameStats {
  readonly complete: number;
  readonly incomplete: number;
  readonly keyframes: number;
  readonly bytes: number;
  readonly sizeMin: number;
  readonly sizeMedian: number;
  readonly sizeMean: number;
  readonly sizeMax: number;
  /** VP8 keyframes whose clear bytes hold the 9d 01 2a start code. */
  readonly keyframeStartCodes?: number;
}

export interface EntropyStats {
  /** Mean Shannon entropy (bits/byte) of each frame after its clear bytes. */
  readonly meanBitsPerByte: number;
  /** Mean of what uniformly random bytes of the same lengths would give. */
  readonly meanExpectedRandom: number;
  /** 32 bins over 0-8 bits/byte. */
  readonly histogram: number[];
}

export type ProducerDecode =
  | { readonly type: 'video'; readonly codec: 'vp8' | 'vp9'; readonly asCaptured: VideoDecodeView; readonly stripped?: VideoDecodeView }
  | {
      readonly type: 'audio';
      /** Frames that are not SFrame-consistent, decoded as they are (absent when there are none). */
      readonly asCaptured?: AudioDecodeView;
      /** SFrame-consistent frames as [TOC][ciphertext without tag]. */
      readonly stripped?: AudioDecodeView;
    }
  | { readonly type: 'skipped'; readonly reason: string };

export interface ProducerAudit extends ProducerIdentity {
  readonly capture: CaptureStats;
  readonly frames: FrameStats;
  readonly entropy: EntropyStats;
  readonly sframe: SFrameStructure;
  readonly decode: ProducerDecode;
  /** Frames judged to be plaintext media (see the report's method section). */
  readonly plaintextFrames: number;
  /** Frame sizes for the chart: [frame index, bytes, keyframe], thinned to at most 1000. */
  readonly sizeSeries: Array<[number, number, boolean]>;
  readonly findings: string[];
}

export interface KeyHit {
  readonly label: string;
  readonly form: string;
  /** Window of the key that matched: bytes [offset, offset+length) of keyLength. */
  readonly offset: number;
  readonly length: number;
  readonly keyLength: number;
  readonly where: string;
}

export interface KeySearchSummary {
  readonly ran: boolean;
  readonly keys: number;
  readonly skipped: Array<{ label: string; code: string; message: string }>;
  readonly needles: number;
  readonly haystacks: { signalingLines: number; decodedTokens: number; rtpPackets: number; frames: number; bytes: number };
  readonly hits: KeyHit[];
  /** Hits beyond the listed ones. */
  readonly moreHits: number;
}

export interface InstanceAudit {
  readonly dir: string;
  readonly meetingId: string;
  readonly instanceId: string;
  readonly startedAt: string;
  readonly signaling: { lines: number; unparsable: number; missing: boolean };
  readonly producers: ProducerAudit[];
  readonly verdict: Verdict;
  readonly reasons: string[];
}

export interface AuditSummary {
  readonly tool: 'e2ee-meet tap audit';
  readonly version: 1;
  readonly dir: string;
  readonly generatedAt: string;
  readonly ffmpeg: string;
  readonly verdict: Verdict;
  readonly reasons: string[];
  readonly caveats: string[];
  readonly totals: { instances: number; producers: number; packets: number; frames: number };
  readonly keySearch: KeySearchSummary;
  readonly instances: InstanceAudit[];
  readonly files: { markdown: string; html: string; json: string };
}
