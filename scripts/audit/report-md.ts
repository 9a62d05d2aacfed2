// report.md: the same content as the HTML report, for terminals and reviews.

import { methodSections, PRODUCER_COLUMNS, producerDetails, producerLabel, producerRow } from './report-text.ts';
import type { AuditSummary } from './types.ts';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const table = (head: readonly string[], rows: readonly string[][]) =>
  [`| ${head.map(cell).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join(
    '\n',
  );

export function renderMarkdown(s: AuditSummary): string {
  const out: string[] = [];
  out.push(`# Tap audit: ${s.verdict}`, '');
  out.push(`Directory \`${s.dir}\`, generated ${s.generatedAt}. ${s.ffmpeg || 'ffmpeg not available'}.`, '');
  out.push(
    `${s.totals.instances} meeting instance(s), ${s.totals.producers} producers, ${s.totals.packets} RTP packets, ${s.totals.frames} complete frames.`,
    '',
  );
  out.push('## Verdict', '', `**${s.verdict}**`, '');
  if (s.reasons.length) out.push('Reasons:', '', ...s.reasons.map((r) => `- ${r}`), '');
  if (s.caveats.length) out.push('Caveats:', '', ...s.caveats.map((r) => `- ${r}`), '');

  const k = s.keySearch;
  out.push('## Key material', '');
  if (!k.ran) out.push('Not searched: no keys given (`--keys FILE`).', '');
  else {
    out.push(
      `${k.keys} keys (${k.needles} search patterns) over ${k.haystacks.signalingLines} signaling lines, ${k.haystacks.decodedTokens} decoded tokens, ` +
        `${k.haystacks.rtpPackets} RTP packets and ${k.haystacks.frames} frames (${k.haystacks.bytes} bytes).`,
      '',
    );
    out.push(
      k.hits.length
        ? table(
            ['Key', 'Form', 'Key bytes', 'Where'],
            k.hits.map((h) => [h.label, h.form, `${h.offset}–${h.offset + h.length - 1} of ${h.keyLength}`, h.where]),
          )
        : 'No key material found.',
      '',
    );
    if (k.moreHits) out.push(`… and ${k.moreHits} more hits.`, '');
  }
  for (const sk of k.skipped) out.push(`- key '${sk.label}' not searched: ${sk.code} (${sk.message})`);
  if (k.skipped.length) out.push('');

  for (const inst of s.instances) {
    out.push(`## Meeting ${inst.meetingId} (instance ${inst.instanceId}): ${inst.verdict}`, '');
    out.push(
      `Folder \`${inst.dir}\`, started ${inst.startedAt}. Signaling: ${inst.signaling.missing ? 'signaling.jsonl missing' : `${inst.signaling.lines} lines (${inst.signaling.unparsable} unparsable)`}.`,
      '',
    );
    if (inst.producers.length === 0) out.push('No producers were recorded.', '');
    else out.push(table(PRODUCER_COLUMNS, inst.producers.map(producerRow)), '');
    for (const p of inst.producers) {
      out.push(`### ${producerLabel(p)}`, '', `Producer \`${p.producerId}\`, participant \`${p.participantId}\`.`, '');
      out.push(...producerDetails(p).map((l) => `- ${l}`), '');
      if (p.findings.length) out.push('Findings:', '', ...p.findings.map((f) => `- **${f}**`), '');
    }
  }
  out.push('## Method and strength of each signal', '');
  for (const m of methodSections(s)) out.push(`### ${m.title}`, '', m.text, '');
  return out.join('\n');
}
