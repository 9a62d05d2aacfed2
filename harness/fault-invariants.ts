// The invariants every fault test checks (issue #13), on what the server saw
// (the tap) and what the pages show:
//   - no frame left a browser unencrypted: every captured frame of every
//     producer is SFrame-structured (scripts/audit's structure check);
//   - no (key, KID, CTR) used twice: within one meeting instance (one set of
//     keys; a full KID names one sender's key of one epoch and source), no
//     (KID, CTR) appears in two producers, or twice in one with different bytes.
//     A compact KID (0-7, the microphone's: protocol.md §7.3a) names a key only
//     together with its sender, and every sender uses the same eight values, so
//     it is checked per sender: no (sender, KID, CTR) twice (a sender's frame
//     worker keeps one counter per compact KID that only grows, across epochs
//     and re-published microphones alike);
//   - no tile says "encrypted" while its frames fail (the page's decrypt counters);
//   - every participant shows the same security code.
// The pure cores (sframeNonceReuse, tilesClaimingEncryption) are what the
// controls in test/e2e/fault-invariants.test.ts break on purpose.

import type { Page } from 'playwright-core';
import { extractFrames } from '../scripts/audit/extract.ts';
import { payloadCodec } from '../scripts/audit/payload.ts';
import { checkStructure, viewFrame, type SFrameView } from '../scripts/audit/sframe-structure.ts';
import { findInstanceDirs, readIndex, readProducerPcap } from '../scripts/audit/tap-reader.ts';
import { bytesToHex } from '../shared/bytes.ts';
import { COMPACT_KID_SLOTS } from '../shared/sframe/index.ts';
import { readSurface } from './test-surface.ts';

export interface CapturedFrame {
  /** Full KIDs name their key alone; compact ones (0-7) only with the sender. */
  kid: bigint;
  ctr: bigint;
  bytes: Uint8Array;
}

/**
 * Every (KID, CTR) that appears in two producers, or twice in one with
 * different bytes; for compact KIDs, (sender, KID, CTR).
 */
export function sframeNonceReuse(
  producers: ReadonlyArray<{ producerId: string; participantId: string; frames: readonly CapturedFrame[] }>,
): string[] {
  const seen = new Map<string, { producerId: string; hex: string }>();
  const problems: string[] = [];
  for (const p of producers) {
    for (const f of p.frames) {
      const key = f.kid < BigInt(COMPACT_KID_SLOTS) ? `${p.participantId}/${f.kid}:${f.ctr}` : `${f.kid}:${f.ctr}`;
      const hex = bytesToHex(f.bytes);
      const earlier = seen.get(key);
      if (!earlier) seen.set(key, { producerId: p.producerId, hex });
      else if (earlier.producerId !== p.producerId)
        problems.push(`KID ${f.kid} CTR ${f.ctr} in producers ${earlier.producerId} and ${p.producerId}`);
      else if (earlier.hex !== hex) problems.push(`KID ${f.kid} CTR ${f.ctr} twice in producer ${p.producerId} with different bytes`);
    }
  }
  return problems;
}

export interface TapCheck {
  instances: number;
  producers: number;
  frames: number;
  /** Frames that are not SFrame-structured, or reuse a nonce: each a line saying where. */
  problems: string[];
}

/** Reads a tap directory (server/tap) and checks both frame invariants per meeting instance. */
export function checkTapFrames(dir: string): TapCheck {
  const found = findInstanceDirs(dir);
  if (!found.ok) return { instances: 0, producers: 0, frames: 0, problems: [`${found.code}: ${found.message}`] };
  const out: TapCheck = { instances: found.value.length, producers: 0, frames: 0, problems: [] };
  for (const instDir of found.value) {
    const index = readIndex(instDir);
    if (!index.ok) {
      out.problems.push(`${instDir}: ${index.message}`);
      continue;
    }
    const perProducer: Array<{
      producerId: string;
      participantId: string;
      frames: Array<{ index: number; data: Uint8Array }>;
      views: SFrameView[];
    }> = [];
    for (const entry of index.value.producers) {
      const codec = payloadCodec(entry.codec);
      const pcap = readProducerPcap(instDir, entry.file);
      if (!codec || !pcap.ok) {
        out.problems.push(`${entry.producerId}: ${!codec ? `codec ${entry.codec} unknown` : pcap.ok ? '' : pcap.message}`);
        continue;
      }
      const frames = extractFrames(codec, entry.payloadType, pcap.value).frames;
      perProducer.push({
        producerId: entry.producerId,
        participantId: entry.participantId,
        frames,
        views: frames.map((f) => viewFrame(entry.codec, f.data)),
      });
    }
    const kidsBySender = new Map<string, Map<bigint, number>>();
    for (const p of perProducer) {
      const m = kidsBySender.get(p.participantId) ?? new Map<bigint, number>();
      kidsBySender.set(p.participantId, m);
      for (const v of p.views) if (v.kid !== undefined && v.issue === undefined) m.set(v.kid, (m.get(v.kid) ?? 0) + 1);
    }
    for (const p of perProducer) {
      out.producers++;
      out.frames += p.frames.length;
      const { summary } = checkStructure({ frames: p.frames, views: p.views, senderKidFrames: kidsBySender.get(p.participantId)! });
      if (summary.consistent !== summary.frames) {
        out.problems.push(
          `producer ${p.producerId}: ${summary.frames - summary.consistent} of ${summary.frames} frames not SFrame-structured ${JSON.stringify(summary.issues)}`,
        );
      }
    }
    out.problems.push(
      ...sframeNonceReuse(
        perProducer.map((p) => ({
          producerId: p.producerId,
          participantId: p.participantId,
          frames: p.frames.flatMap((f, i) => {
            const v = p.views[i]!;
            return v.kid !== undefined && v.ctr !== undefined && v.issue === undefined ? [{ kid: v.kid, ctr: v.ctr, bytes: f.data }] : [];
          }),
        })),
      ),
    );
  }
  return out;
}

export interface TileSample {
  participantId: string;
  /** The tile's data-e2ee: 'ok' is what the user reads as "encrypted". */
  state: string;
  decrypted: number;
  dropped: number;
}

/** Tiles that said "encrypted" at both samples while their sender's frames only failed in between. */
export function tilesClaimingEncryption(before: readonly TileSample[], after: readonly TileSample[], minDrops = 10): string[] {
  const problems: string[] = [];
  for (const a of after) {
    const b = before.find((x) => x.participantId === a.participantId);
    if (!b || a.state !== 'ok' || b.state !== 'ok') continue;
    const dropped = a.dropped - b.dropped;
    const decrypted = a.decrypted - b.decrypted;
    if (dropped >= minDrops && decrypted === 0)
      problems.push(`tile of ${a.participantId} says encrypted: ${dropped} frames dropped, none decrypted`);
  }
  return problems;
}

/** Each camera tile's state with its sender's decrypt counters, read in one go from the page. */
export function sampleTiles(page: Page): Promise<TileSample[]> {
  return readSurface(page, ({ e2ee }) =>
    [...document.querySelectorAll<HTMLElement>('[data-testid=tile]')].map((t) => {
      const id = t.dataset['participant'] ?? '';
      const r = e2ee.frames.receive.get(id);
      return {
        participantId: id,
        state: t.dataset['e2ee'] ?? '',
        decrypted: r?.decrypted ?? 0,
        dropped: r ? Object.values(r.dropped).reduce((a, b) => a + b, 0) : 0,
      };
    }),
  );
}
