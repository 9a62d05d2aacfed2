// Page of the interleaved A/B bench: starts ab-worker.ts with the query's
// rounds and frames, logs its progress for the Node driver and publishes the
// outcome on window.__ab.

import type { AbConfig, AbResult, AbToPage } from './ab-protocol.ts';

const outcome: { result?: AbResult; error?: string } = {};
(window as unknown as { __ab: typeof outcome }).__ab = outcome;

const query = new URLSearchParams(location.search);
const config: AbConfig = {
  rounds: Number(query.get('rounds')) || 100,
  frames: Number(query.get('frames')) || 30,
  diag: query.get('diag') === '1',
  sizes: (query.get('sizes') ?? '100,10000,60000').split(',').map(Number),
};
const ab = new Worker(new URL('./ab-worker.ts', import.meta.url), { type: 'module', name: 'sframe-ab' });
ab.onmessage = ({ data }: MessageEvent<AbToPage>) => {
  if (data.type === 'progress') console.log(`[ab] ${data.text}`);
  else if (data.type === 'done') outcome.result = data.result;
  else outcome.error = data.message;
};
ab.onerror = (e) => {
  outcome.error = `worker error: ${e.message}`;
};
ab.postMessage(config);
