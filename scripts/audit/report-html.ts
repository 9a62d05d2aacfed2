// report.html: one self-contained page (inline CSS and SVG, no scripts, no
// external resources). Every captured string (participant names come from
// users) is escaped.

import { methodSections, PRODUCER_COLUMNS, producerDetails, producerLabel, producerRow } from './report-text.ts';
import { entropyHistogramSvg, escapeXml as esc, frameSizeSvg } from './svg.ts';
import type { AuditSummary, ProducerAudit } from './types.ts';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}h3{margin-top:1.5em}
.verdict{display:inline-block;padding:.3em .8em;border-radius:4px;color:#fff;font-weight:700}
.BLIND{background:#2e7d32}.NOT{background:#c62828}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.finding{color:#b71c1c;font-weight:600}.charts{display:flex;flex-wrap:wrap;gap:1em}
code{background:#f4f4f4;padding:0 3px}.muted{color:#666}
`;

const table = (head: readonly string[], rows: readonly string[][]) =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;

const list = (items: readonly string[], cls = '') =>
  items.length ? `<ul>${items.map((i) => `<li${cls ? ` class="${cls}"` : ''}>${esc(i)}</li>`).join('')}</ul>` : '';

function producerSection(p: ProducerAudit): string {
  const title = producerLabel(p);
  return (
    `<h3>${esc(title)}</h3><p class="muted">Producer <code>${esc(p.producerId)}</code>, participant <code>${esc(p.participantId)}</code>.</p>` +
    list(producerDetails(p)) +
    (p.findings.length ? `<p><b>Findings</b></p>${list(p.findings, 'finding')}` : '') +
    `<div class="charts">${entropyHistogramSvg(p.entropy.histogram, p.entropy.meanExpectedRandom, `Entropy per frame, ${title}`)}${frameSizeSvg(p.sizeSeries, `Frame sizes, ${title}`)}</div>`
  );
}

export function renderHtml(s: AuditSummary): string {
  const k = s.keySearch;
  const keys = !k.ran
    ? '<p>Not searched: no keys given (<code>--keys FILE</code>).</p>'
    : `<p>${k.keys} keys (${k.needles} search patterns) over ${k.haystacks.signalingLines} signaling lines, ${k.haystacks.decodedTokens} decoded tokens, ${k.haystacks.rtpPackets} RTP packets and ${k.haystacks.frames} frames (${k.haystacks.bytes} bytes).</p>` +
      (k.hits.length
        ? table(
            ['Key', 'Form', 'Key bytes', 'Where'],
            k.hits.map((h) => [h.label, h.form, `${h.offset}–${h.offset + h.length - 1} of ${h.keyLength}`, h.where]),
          ) + (k.moreHits ? `<p>… and ${k.moreHits} more hits.</p>` : '')
        : '<p>No key material found.</p>');
  const skipped = list(k.skipped.map((x) => `key '${x.label}' not searched: ${x.code} (${x.message})`));
  const instances = s.instances
    .map(
      (inst) =>
        `<h2>Meeting ${esc(inst.meetingId)} (instance ${esc(inst.instanceId)}): <span class="verdict ${inst.verdict === 'BLIND' ? 'BLIND' : 'NOT'}">${inst.verdict}</span></h2>` +
        `<p class="muted">Folder <code>${esc(inst.dir)}</code>, started ${esc(inst.startedAt)}. Signaling: ${
          inst.signaling.missing ? 'signaling.jsonl missing' : `${inst.signaling.lines} lines (${inst.signaling.unparsable} unparsable)`
        }.</p>` +
        (inst.producers.length ? table(PRODUCER_COLUMNS, inst.producers.map(producerRow)) : '<p>No producers were recorded.</p>') +
        inst.producers.map(producerSection).join(''),
    )
    .join('');
  const method = methodSections(s)
    .map((m) => `<h3>${esc(m.title)}</h3><p>${esc(m.text)}</p>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Tap audit: ${s.verdict}</title><style>${CSS}</style></head><body>
<h1>Tap audit <span class="verdict ${s.verdict === 'BLIND' ? 'BLIND' : 'NOT'}">${s.verdict}</span></h1>
<p class="muted">Directory <code>${esc(s.dir)}</code>, generated ${esc(s.generatedAt)}. ${esc(s.ffmpeg || 'ffmpeg not available')}.<br>
${s.totals.instances} meeting instance(s), ${s.totals.producers} producers, ${s.totals.packets} RTP packets, ${s.totals.frames} complete frames.</p>
<h2>Verdict</h2>
${s.reasons.length ? `<p><b>Reasons</b></p>${list(s.reasons, 'finding')}` : '<p>No reason against blindness was found.</p>'}
${s.caveats.length ? `<p><b>Caveats</b></p>${list(s.caveats)}` : ''}
<h2>Key material</h2>${keys}${skipped}
${instances}
<h2>Method and strength of each signal</h2>${method}
</body></html>
`;
}
