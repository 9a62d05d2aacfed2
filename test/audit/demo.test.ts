// The blindness demonstration inside the suite (shorter meetings): the audit
// of a real three-browser E2EE meeting says BLIND, and the control meeting
// with encryption switched off (test build) says NOT BLIND. Without the
// control, a BLIND verdict would prove nothing.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAuditDemo } from '../../scripts/audit-demo-run.ts';
import { REPO_ROOT } from '../../harness/server.ts';
import { tmpDir } from '../../harness/browser.ts';

describe('npm run audit:demo', () => {
  it('says BLIND for the encrypted meeting and NOT BLIND for the plaintext control', async () => {
    const out = tmpDir('audit-demo-');
    const r = await runAuditDemo({ outDir: out, durationMs: 6000, repoRoot: REPO_ROOT, log: (l) => console.log(l) });
    console.log(`encrypted: ${r.encrypted.summary.verdict}\n  ${r.encrypted.summary.reasons.join('\n  ')}`);
    console.log(`control:   ${r.control.summary.verdict}\n  ${r.control.summary.reasons.slice(0, 6).join('\n  ')}`);
    expect(r.encrypted.keysExported).toBeGreaterThan(5);
    expect(r.encrypted.summary.verdict).toBe('BLIND');
    expect(r.control.summary.verdict).toBe('NOT BLIND');
    expect(r.ok).toBe(true);
    for (const run of [r.encrypted, r.control]) {
      for (const f of ['report.md', 'report.html', 'summary.json'])
        expect(fs.existsSync(path.join(run.dir, f)), `${run.label}/${f}`).toBe(true);
    }
  }, 240_000);
});
