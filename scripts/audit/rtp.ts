// RTP fixed header (RFC 3550 §5.1) and header extensions (RFC 8285), parsed
// strictly so the audit looks at exactly the bytes the codec payload format
// starts at: CSRCs, extension block and padding are all stripped.

import { failure, success, type AuditResult } from './result.ts';

export interface RtpExtension {
  readonly id: number;
  readonly data: Uint8Array;
}

export interface RtpPacket {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly csrcs: readonly number[];
  /** 0xBEDE (one-byte), 0x100x (two-byte) or another profile whose elements are not parsed. */
  readonly extensionProfile: number | undefined;
  readonly extensions: readonly RtpExtension[];
  readonly paddingLength: number;
  readonly payload: Uint8Array;
}

export type RtpErrorCode = 'TOO_SHORT' | 'BAD_VERSION' | 'CSRC_TRUNCATED' | 'EXTENSION_TRUNCATED' | 'BAD_PADDING';

const ONE_BYTE_PROFILE = 0xbede;
const TWO_BYTE_PROFILE_MASK = 0xfff0;
const TWO_BYTE_PROFILE = 0x1000;

export function parseRtp(buf: Uint8Array): AuditResult<RtpPacket, RtpErrorCode> {
  if (buf.length < 12) return failure('TOO_SHORT', `RTP packet of ${buf.length} bytes is shorter than the 12-byte header`);
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) return failure('BAD_VERSION', `RTP version ${b0 >> 6}, expected 2`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hasPadding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  const b1 = buf[1]!;
  let at = 12;
  if (at + 4 * csrcCount > buf.length) return failure('CSRC_TRUNCATED', `${csrcCount} CSRCs do not fit in ${buf.length} bytes`);
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i++, at += 4) csrcs.push(view.getUint32(at));
  let extensionProfile: number | undefined;
  let extensions: RtpExtension[] = [];
  if (hasExtension) {
    if (at + 4 > buf.length) return failure('EXTENSION_TRUNCATED', 'extension header does not fit');
    extensionProfile = view.getUint16(at);
    const words = view.getUint16(at + 2);
    const start = at + 4;
    const end = start + words * 4;
    if (end > buf.length) return failure('EXTENSION_TRUNCATED', `extension of ${words} words does not fit`);
    const parsed = parseExtensionElements(extensionProfile, buf.subarray(start, end));
    if (!parsed.ok) return parsed;
    extensions = parsed.value;
    at = end;
  }
  let paddingLength = 0;
  if (hasPadding) {
    paddingLength = buf[buf.length - 1]!;
    if (paddingLength === 0 || at + paddingLength > buf.length) return failure('BAD_PADDING', `padding length ${paddingLength} is invalid`);
  }
  return success({
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    csrcs,
    extensionProfile,
    extensions,
    paddingLength,
    payload: buf.subarray(at, buf.length - paddingLength),
  });
}

/** RFC 8285 §4.2 (one-byte: ID 0 is padding, 15 stops parsing) and §4.3 (two-byte: ID 0 is padding). */
function parseExtensionElements(profile: number, block: Uint8Array): AuditResult<RtpExtension[], RtpErrorCode> {
  const out: RtpExtension[] = [];
  if (profile === ONE_BYTE_PROFILE) {
    for (let i = 0; i < block.length;) {
      const b = block[i]!;
      if (b === 0) {
        i++;
        continue;
      }
      const id = b >> 4;
      if (id === 15) break;
      const len = (b & 0x0f) + 1;
      if (i + 1 + len > block.length) return failure('EXTENSION_TRUNCATED', `one-byte extension ${id} runs past the block`);
      out.push({ id, data: block.subarray(i + 1, i + 1 + len) });
      i += 1 + len;
    }
  } else if ((profile & TWO_BYTE_PROFILE_MASK) === TWO_BYTE_PROFILE) {
    for (let i = 0; i < block.length;) {
      const id = block[i]!;
      if (id === 0) {
        i++;
        continue;
      }
      if (i + 2 > block.length) return failure('EXTENSION_TRUNCATED', 'two-byte extension header runs past the block');
      const len = block[i + 1]!;
      if (i + 2 + len > block.length) return failure('EXTENSION_TRUNCATED', `two-byte extension ${id} runs past the block`);
      out.push({ id, data: block.subarray(i + 2, i + 2 + len) });
      i += 2 + len;
    }
  }
  return success(out);
}

/**
 * Unwraps 16-bit sequence numbers into a monotonic 64-bit-safe counter:
 * each value is placed in the cycle that puts it nearest the highest seen.
 */
export class SequenceUnwrapper {
  private highest: number | undefined;

  unwrap(seq: number): number {
    if (this.highest === undefined) {
      this.highest = seq + 65536; // room for slightly older packets without going negative
      return this.highest;
    }
    const base = this.highest - (this.highest & 0xffff);
    let candidate = base + seq;
    if (candidate - this.highest > 32768) candidate -= 65536;
    else if (this.highest - candidate > 32768) candidate += 65536;
    if (candidate > this.highest) this.highest = candidate;
    return candidate;
  }
}
