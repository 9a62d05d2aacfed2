// RTP payload formats: what each packet contributes to a frame, once the
// payload descriptor is stripped.
//
//   VP8 (RFC 7741 §4.2): X|R|N|S|R|PID, then optional I|L|T|K, PictureID,
//     TL0PICIDX, TID|Y|KEYIDX. A frame starts at S=1 with PID=0; the marker
//     bit (or the next timestamp) ends it.
//   VP9 (RFC 9628 §4.2): I|P|L|F|B|E|V|Z, then optional PictureID, layer
//     indices, reference indices and scalability structure. B and E delimit
//     one layer frame (one spatial layer of a picture).
//   Opus (RFC 7587): the payload is exactly one Opus packet.

import { failure, success, type AuditResult } from './result.ts';

export interface PayloadUnit {
  /** This packet begins a frame. */
  readonly start: boolean;
  /** This packet ends a frame; undefined when the format leaves it to the marker bit. */
  readonly end: boolean | undefined;
  /** Spatial layer (VP9 SID); 0 elsewhere. */
  readonly layer: number;
  /** VP9 only: the descriptor's P bit is clear (no inter-picture reference), i.e. a keyframe or layer start. */
  readonly keyframeHint?: boolean;
  /** Codec bytes after the descriptor. */
  readonly data: Uint8Array;
}

export type PayloadErrorCode = 'EMPTY' | 'DESCRIPTOR_TRUNCATED' | 'UNSUPPORTED_CODEC';

export type PayloadCodec = 'vp8' | 'vp9' | 'opus';

export function payloadCodec(mimeType: string): PayloadCodec | undefined {
  const c = mimeType.toLowerCase();
  if (c === 'video/vp8') return 'vp8';
  if (c === 'video/vp9') return 'vp9';
  if (c === 'audio/opus') return 'opus';
  return undefined;
}

export function parsePayload(codec: PayloadCodec, payload: Uint8Array): AuditResult<PayloadUnit, PayloadErrorCode> {
  if (payload.length === 0) return failure('EMPTY', 'empty payload');
  switch (codec) {
    case 'vp8':
      return parseVp8(payload);
    case 'vp9':
      return parseVp9(payload);
    case 'opus':
      return success({ start: true, end: true, layer: 0, data: payload });
  }
}

const truncated = (what: string) => failure('DESCRIPTOR_TRUNCATED' as const, `${what} runs past the payload`);

function parseVp8(p: Uint8Array): AuditResult<PayloadUnit, PayloadErrorCode> {
  const b0 = p[0]!;
  let at = 1;
  if (b0 & 0x80) {
    const x = p[at++];
    if (x === undefined) return truncated('VP8 extension byte');
    if (x & 0x80) {
      const pid = p[at];
      if (pid === undefined) return truncated('VP8 PictureID');
      at += pid & 0x80 ? 2 : 1;
    }
    if (x & 0x40) at++; // TL0PICIDX
    if (x & 0x30) at++; // TID|Y|KEYIDX, present if T or K
    if (at > p.length) return truncated('VP8 payload descriptor');
  }
  const start = (b0 & 0x10) !== 0 && (b0 & 0x07) === 0;
  return success({ start, end: undefined, layer: 0, data: p.subarray(at) });
}

function parseVp9(p: Uint8Array): AuditResult<PayloadUnit, PayloadErrorCode> {
  const b0 = p[0]!;
  const I = (b0 & 0x80) !== 0;
  const P = (b0 & 0x40) !== 0;
  const L = (b0 & 0x20) !== 0;
  const F = (b0 & 0x10) !== 0;
  const B = (b0 & 0x08) !== 0;
  const E = (b0 & 0x04) !== 0;
  const V = (b0 & 0x02) !== 0;
  let at = 1;
  let layer = 0;
  if (I) {
    const pid = p[at];
    if (pid === undefined) return truncated('VP9 PictureID');
    at += pid & 0x80 ? 2 : 1;
  }
  if (L) {
    const li = p[at++];
    if (li === undefined) return truncated('VP9 layer indices');
    layer = (li >> 1) & 0x07;
    if (!F) at++; // TL0PICIDX in non-flexible mode
  }
  if (F && P) {
    for (let n = 0; ; n++) {
      const d = p[at++];
      if (d === undefined) return truncated('VP9 reference indices');
      if ((d & 0x01) === 0 || n === 2) break;
    }
  }
  if (V) {
    const ss = p[at++];
    if (ss === undefined) return truncated('VP9 scalability structure');
    const ns = (ss >> 5) + 1;
    if (ss & 0x10) at += 4 * ns; // widths and heights
    if (ss & 0x08) {
      const ng = p[at++];
      if (ng === undefined) return truncated('VP9 picture group');
      for (let g = 0; g < ng; g++) {
        const d = p[at++];
        if (d === undefined) return truncated('VP9 picture group entry');
        at += (d >> 2) & 0x03; // R reference P_DIFFs
      }
    }
  }
  if (at > p.length) return truncated('VP9 payload descriptor');
  return success({ start: B, end: E, layer, keyframeHint: !P, data: p.subarray(at) });
}
