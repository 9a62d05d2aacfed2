// Small inline SVG charts for the HTML report: no scripts, no external
// resources, so the report opens offline and cannot phone home.

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const W = 480;
const H = 170;
const PAD = { left: 44, right: 10, top: 12, bottom: 30 };
const fmt = (n: number) => (n >= 10_000 ? `${Math.round(n / 1000)}k` : n >= 100 ? String(Math.round(n)) : String(+n.toFixed(2)));

function frame(title: string, body: string, xLabel: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeXml(title)}">` +
    `<title>${escapeXml(title)}</title>` +
    `<rect x="${PAD.left}" y="${PAD.top}" width="${W - PAD.left - PAD.right}" height="${H - PAD.top - PAD.bottom}" fill="#fafafa" stroke="#ccc"/>` +
    body +
    `<text x="${(W + PAD.left) / 2}" y="${H - 4}" font-size="11" text-anchor="middle" fill="#444">${escapeXml(xLabel)}</text>` +
    `</svg>`
  );
}

/** Histogram of per-frame entropy over [0, 8] bits/byte, with a marker at `reference`. */
export function entropyHistogramSvg(bins: readonly number[], reference: number | undefined, title: string): string {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const max = Math.max(1, ...bins);
  const bw = plotW / Math.max(1, bins.length);
  let body = '';
  bins.forEach((n, i) => {
    if (n === 0) return;
    const h = (n / max) * plotH;
    body += `<rect x="${(PAD.left + i * bw + 0.5).toFixed(1)}" y="${(PAD.top + plotH - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="#4a78b5"><title>${(i * 8) / bins.length}–${((i + 1) * 8) / bins.length} bits/byte: ${n} frames</title></rect>`;
  });
  for (let v = 0; v <= 8; v += 2) {
    const x = PAD.left + (v / 8) * plotW;
    body += `<text x="${x}" y="${H - PAD.bottom + 12}" font-size="10" text-anchor="middle" fill="#444">${v}</text>`;
  }
  body += `<text x="${PAD.left - 4}" y="${PAD.top + 9}" font-size="10" text-anchor="end" fill="#444">${fmt(max)}</text>`;
  body += `<text x="${PAD.left - 4}" y="${PAD.top + plotH}" font-size="10" text-anchor="end" fill="#444">0</text>`;
  if (reference !== undefined) {
    const x = PAD.left + (Math.min(8, Math.max(0, reference)) / 8) * plotW;
    body += `<line x1="${x.toFixed(1)}" y1="${PAD.top}" x2="${x.toFixed(1)}" y2="${PAD.top + plotH}" stroke="#c0392b" stroke-dasharray="4 3"/>`;
    body += `<text x="${(x - 3).toFixed(1)}" y="${PAD.top + 10}" font-size="10" text-anchor="end" fill="#c0392b">random</text>`;
  }
  return frame(title, body, 'entropy after the clear bytes (bits/byte)');
}

/** Frame size against frame index; keyframes in a second colour. */
export function frameSizeSvg(points: ReadonlyArray<readonly [number, number, boolean]>, title: string): string {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const maxX = Math.max(1, ...points.map((p) => p[0]));
  const maxY = Math.max(1, ...points.map((p) => p[1]));
  let body = '';
  for (const [x, y, key] of points) {
    const cx = PAD.left + (x / maxX) * plotW;
    const cy = PAD.top + plotH - (y / maxY) * plotH;
    body += `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${key ? 2.6 : 1.4}" fill="${key ? '#d35400' : '#4a78b5'}"/>`;
  }
  body += `<text x="${PAD.left - 4}" y="${PAD.top + 9}" font-size="10" text-anchor="end" fill="#444">${fmt(maxY)} B</text>`;
  body += `<text x="${PAD.left - 4}" y="${PAD.top + plotH}" font-size="10" text-anchor="end" fill="#444">0</text>`;
  body += `<text x="${W - PAD.right}" y="${H - PAD.bottom + 12}" font-size="10" text-anchor="end" fill="#444">${maxX}</text>`;
  return frame(title, body, 'frame index (orange: keyframes)');
}
