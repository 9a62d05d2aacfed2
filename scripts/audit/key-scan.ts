// Runs the key search over everything the server saw, one source at a time,
// and collects the hits: signaling lines (as text, and every encoding decoded
// out of them), every RTP packet as captured, and every reassembled frame (a
// key split across two packets is whole again in the frame).

import { extractEmbedded } from './embedded.ts';
import { needlesForKey, NeedleIndex, parseKeyHex, type KeySpec, type NeedleHit } from './key-search.ts';
import type { KeyHit, KeySearchSummary } from './types.ts';

const MAX_LISTED = 200;

export class KeyScanner {
  private readonly index: NeedleIndex;
  private readonly skipped: KeySearchSummary['skipped'] = [];
  private readonly hits = new Map<string, { label: string; form: string; start: number; end: number; keyLength: number; where: string }>();
  private readonly haystacks = { signalingLines: 0, decodedTokens: 0, rtpPackets: 0, frames: 0, bytes: 0 };
  private readonly keyCount: number;

  constructor(keys: readonly KeySpec[]) {
    const needles = [];
    for (const k of keys) {
      const parsed = parseKeyHex(k.hex);
      if (!parsed.ok) this.skipped.push({ label: k.label, code: parsed.code, message: parsed.message });
      else needles.push(...needlesForKey(k.label, parsed.value));
    }
    this.keyCount = keys.length;
    this.index = new NeedleIndex(needles);
  }

  get active(): boolean {
    return this.index.needles.length > 0;
  }

  private record(found: readonly NeedleHit[], where: string): void {
    for (const { needle } of found) {
      const id = `${needle.label}\u0000${needle.form}\u0000${where}`;
      const h = this.hits.get(id);
      if (h) {
        h.start = Math.min(h.start, needle.offset);
        h.end = Math.max(h.end, needle.offset + needle.length);
      } else {
        this.hits.set(id, {
          label: needle.label,
          form: needle.form,
          start: needle.offset,
          end: needle.offset + needle.length,
          keyLength: needle.keyLength,
          where,
        });
      }
    }
  }

  private scan(bytes: Uint8Array, where: string): void {
    this.haystacks.bytes += bytes.length;
    this.record(this.index.scan(bytes), where);
  }

  scanSignalingLine(where: string, text: string): void {
    if (!this.active) return;
    this.haystacks.signalingLines++;
    this.scan(Buffer.from(text, 'utf8'), where);
    for (const e of extractEmbedded(text)) {
      this.haystacks.decodedTokens++;
      this.scan(e.bytes, `${where}, inside ${e.encoding} "${e.excerpt}"`);
    }
  }

  scanPacket(where: string, bytes: Uint8Array): void {
    if (!this.active) return;
    this.haystacks.rtpPackets++;
    this.scan(bytes, where);
  }

  scanFrame(where: string, bytes: Uint8Array): void {
    if (!this.active) return;
    this.haystacks.frames++;
    this.scan(bytes, where);
  }

  summary(): KeySearchSummary {
    const all: KeyHit[] = [...this.hits.values()].map((h) => ({
      label: h.label,
      form: h.form,
      offset: h.start,
      length: h.end - h.start,
      keyLength: h.keyLength,
      where: h.where,
    }));
    return {
      ran: this.active,
      keys: this.keyCount,
      skipped: this.skipped,
      needles: this.index.needles.length,
      haystacks: { ...this.haystacks },
      hits: all.slice(0, MAX_LISTED),
      moreHits: Math.max(0, all.length - MAX_LISTED),
    };
  }
}
