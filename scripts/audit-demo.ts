// `npm run audit:demo [-- --seconds N --out DIR]`: a tapped three-person
// meeting in headless Chromium, audited; then the same with encryption off
// (control). Exits 0 only if the first is BLIND and the control NOT BLIND.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { runAuditDemo } from './audit-demo-run.ts';
import { parseCommandLine } from '../harness/cli.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseCommandLine({
  command: 'npm run audit:demo --',
  summary:
    'A tapped three-person meeting in headless Chromium, audited; then the same with encryption off (control).\n' +
    'Exits 0 only if the first is BLIND and the control NOT BLIND.',
  options: {
    seconds: { kind: 'number', default: 20, help: 'how long each meeting runs' },
    out: { kind: 'string', arg: 'DIR', help: 'where the taps and reports go (default audit-runs/demo-<time>/)' },
  },
});
const seconds = opts.seconds;
const outDir = path.resolve(opts.out ?? path.join(repoRoot, 'audit-runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`));

console.log('Building the test build (dist-test/: the app plus the test-only plaintext switch and key export)…');
await build({ configFile: path.join(repoRoot, 'vite.config.ts'), mode: 'e2ee-test', logLevel: 'warn' });
const result = await runAuditDemo({ outDir, durationMs: seconds * 1000, repoRoot, log: (l) => console.log(l) });
for (const run of [result.encrypted, result.control]) {
  console.log(`\n${run.label === 'encrypted' ? 'E2EE meeting ' : 'Control (E2EE off)'}: ${run.summary.verdict}`);
  for (const r of run.summary.reasons.slice(0, 8)) console.log(`  - ${r}`);
  console.log(`  report: ${path.join(run.dir, 'report.html')}`);
}
console.log(
  result.ok
    ? '\nOK: the audit says BLIND for the encrypted meeting and NOT BLIND for the control, so it can tell the difference.'
    : '\nFAILED: expected BLIND for the encrypted meeting and NOT BLIND for the control.',
);
process.exit(result.ok ? 0 : 1);
