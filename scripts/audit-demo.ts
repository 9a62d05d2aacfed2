// `npm run audit:demo [-- --seconds N --out DIR]`: a tapped three-person
// meeting in headless Chromium, audited; then the same with encryption off
// (control). Exits 0 only if the first is BLIND and the control NOT BLIND.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { runAuditDemo } from './audit-demo-run.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const seconds = Number(arg('seconds') ?? 20);
const outDir = path.resolve(arg('out') ?? path.join(repoRoot, 'audit-runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`));

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
