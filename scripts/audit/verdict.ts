// From measurements to BLIND / NOT BLIND. Pure. BLIND needs all of:
//   - some frames captured (an empty capture proves nothing),
//   - every media producer's frames SFrame-consistent,
//   - no producer's frames decoding as media, in either view,
//   - every producer with packets actually checked (unverifiable ≠ blind),
//   - no key material found in anything the server saw.

import { AUDIO_RATIO_THRESHOLD } from './criteria.ts';
import { payloadCodec } from './payload.ts';
import type { KeyHit, ProducerAudit, Verdict } from './types.ts';

const pct = (a: number, b: number) => (b === 0 ? '0%' : `${((100 * a) / b).toFixed(a === b || a === 0 ? 0 : 1)}%`);

export function producerLabel(p: Pick<ProducerAudit, 'producerId' | 'participantName' | 'kind' | 'source' | 'codec'>): string {
  return `producer ${p.producerId.slice(0, 8)} (${p.participantName}, ${p.source} ${p.codec})`;
}

export function producerFindings(p: Omit<ProducerAudit, 'findings'>): string[] {
  const who = producerLabel(p);
  const out: string[] = [];
  if (p.capture.error) out.push(`${who}: cannot read its capture (${p.capture.error}), so it cannot be verified`);
  if (p.capture.packets > 0 && payloadCodec(p.codec) === undefined) {
    out.push(`${who}: ${p.capture.packets} packets of ${p.codec}, a codec the audit cannot check, so it cannot be verified`);
  } else if (p.capture.packets > 0 && p.frames.complete === 0) {
    out.push(`${who}: ${p.capture.packets} packets but no complete frame could be reassembled, so it cannot be verified`);
  }
  if (p.frames.complete === 0) return out;
  const s = p.sframe;
  if (s.consistent < s.frames) {
    const issues = Object.entries(s.issues)
      .map(([code, n]) => `${code} ${n}`)
      .join(', ');
    out.push(`${who}: only ${pct(s.consistent, s.frames)} of frames (${s.consistent}/${s.frames}) are SFrame-structured (${issues})`);
  }
  // Repeated (KID, CTR) only means nonce reuse in a stream that is otherwise SFrame;
  // in unencrypted media the "headers" are random bytes and repeat by chance.
  const reused = s.issues.CTR_REUSED ?? 0;
  if (reused && s.consistent + reused >= 0.9 * s.frames)
    out.push(`${who}: ${reused} frames reuse an earlier (KID, CTR) with different content: AES-GCM nonce reuse`);
  const d = p.decode;
  if (d.type === 'skipped') out.push(`${who}: decode test not run (${d.reason}), so it cannot be verified`);
  if (d.type === 'video') {
    const dec = `${d.codec === 'vp8' ? "ffmpeg's vp8 decoder and libvpx" : "ffmpeg's vp9 decoder and libvpx-vp9"}`;
    for (const [view, v] of [
      ['as captured', d.asCaptured],
      ['with the SFrame header and tag removed', d.stripped],
    ] as const) {
      if (v?.result !== 'decodes-as-media') continue;
      out.push(
        `${who}: ${view}, ${v.identical} of ${v.frames} frames (${pct(v.identical, v.frames)}) decode as ${d.codec.toUpperCase()} with bit-identical pictures in ${dec}, ` +
          `against ${v.controlIdentical.join(' and ')} for random payloads (p = ${v.pValue.toExponential(1)})`,
      );
    }
  }
  if (d.type === 'audio') {
    for (const [view, v] of [
      ['as captured', d.asCaptured],
      ['with the SFrame header and tag removed', d.stripped],
    ] as const) {
      if (v?.result !== 'audio-like') continue;
      out.push(
        `${who}: ${view}, the ${v.packets} packets decode like real audio, not like random bytes (energy-step ratio to a random-payload control ${v.ratio.toFixed(2)}, threshold ${AUDIO_RATIO_THRESHOLD})`,
      );
    }
  }
  return out;
}

export function keyFindings(hits: readonly KeyHit[]): string[] {
  const byLabel = new Map<string, KeyHit[]>();
  for (const h of hits) byLabel.set(h.label, [...(byLabel.get(h.label) ?? []), h]);
  return [...byLabel].map(([label, list]) => {
    const shown = list
      .slice(0, 3)
      .map((h) => `${h.form}${h.length < h.keyLength ? ` (bytes ${h.offset}-${h.offset + h.length - 1})` : ''} in ${h.where}`);
    const more = list.length > 3 ? `, and ${list.length - 3} more` : '';
    return `key '${label}' found: ${shown.join('; ')}${more}`;
  });
}

export function decideVerdict(input: { totalFrames: number; producerFindings: readonly string[]; keyFindings: readonly string[] }): {
  verdict: Verdict;
  reasons: string[];
} {
  const reasons = [
    ...(input.totalFrames === 0 ? ['nothing captured: no complete media frame in the tap, so blindness cannot be shown'] : []),
    ...input.producerFindings,
    ...input.keyFindings,
  ];
  return { verdict: reasons.length === 0 ? 'BLIND' : 'NOT BLIND', reasons };
}
