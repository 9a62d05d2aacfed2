// The one-command blindness demonstration, as a function the CLI and the test
// suite share: a tapped server, a three-participant meeting in headless
// Chromium, then the audit — once with E2EE on, and once as a control with
// encryption switched off through the test build's switch. The audit proves
// something only if it says BLIND for the first and NOT BLIND for the second.

import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { isConfigError, parseConfig } from '../server/config.ts';
import { startServer } from '../server/app.ts';
import { createLogger } from '../server/log.ts';
import { Tap } from '../server/tap/tap.ts';
import { closePages, launchBrowser, openParticipant } from '../harness/browser.ts';
import { TEST_BUILD_ARGS, readSurface, type KeyRecord } from '../harness/test-surface.ts';
import { auditTap, type AuditSummary } from './audit/index.ts';
import { linkFragment } from '../harness/meeting-link.ts';
import { LOOPBACK_MEDIA_ENV } from '../harness/server.ts';

export interface DemoRun {
  label: 'encrypted' | 'control';
  dir: string;
  summary: AuditSummary;
  keysExported: number;
}

export interface DemoOptions {
  outDir: string;
  durationMs: number;
  participants?: number;
  log?: (line: string) => void;
  repoRoot: string;
}

async function runMeeting(browser: Browser, o: DemoOptions, label: DemoRun['label']): Promise<DemoRun> {
  const log = o.log ?? (() => {});
  const dir = path.join(o.outDir, label);
  fs.rmSync(dir, { recursive: true, force: true });
  // Media on loopback only: the demo's browsers run on this machine.
  const cfg = parseConfig(['--port', '0', '--workers', '1', ...TEST_BUILD_ARGS, '--tap', dir], { ...LOOPBACK_MEDIA_ENV }, o.repoRoot);
  if (isConfigError(cfg)) throw new Error(cfg.message);
  const serverLog = createLogger('warn');
  const tap = new Tap(dir, serverLog);
  const server = await startServer(cfg, { roomObserver: tap, signalObserver: tap }, serverLog);
  const names = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin'].slice(0, o.participants ?? 3);
  const meeting = `audit-${label}-${Date.now()}`;
  const test = label === 'control' ? '&test=plaintext' : '';
  log(
    `[${label}] meeting ${meeting} with ${names.join(', ')} for ${Math.round(o.durationMs / 1000)} s${label === 'control' ? ' (encryption OFF: control run)' : ''}`,
  );
  const pages = [];
  try {
    for (const n of names)
      pages.push(await openParticipant(browser, `${server.url}/?meeting=${meeting}&name=${n}&join=1${test}${linkFragment(meeting)}`, n));
    // Wait until everyone sees everyone, then let media flow.
    for (const p of pages) {
      await p.page.waitForFunction((n) => document.querySelectorAll('[data-testid=tile]').length === n, names.length - 1, {
        timeout: 20_000,
      });
    }
    await pages[0]!.page.waitForTimeout(o.durationMs);
    const keys: KeyRecord[] = [];
    for (const p of pages) keys.push(...(await readSurface(p.page, (s) => s.keys)));
    for (const p of pages) await p.page.getByTestId('leave').click();
    await pages[0]!.page.waitForTimeout(300);
    await server.close();
    await tap.close();
    log(`[${label}] auditing ${dir} (${keys.length} keys exported by the participants for the key search)`);
    const summary = await auditTap(dir, { keys });
    return { label, dir, summary, keysExported: keys.length };
  } finally {
    await closePages(pages);
    await server.close().catch(() => {});
  }
}

export async function runAuditDemo(o: DemoOptions): Promise<{ encrypted: DemoRun; control: DemoRun; ok: boolean }> {
  const browser = await launchBrowser();
  try {
    const encrypted = await runMeeting(browser, o, 'encrypted');
    const control = await runMeeting(browser, o, 'control');
    return { encrypted, control, ok: encrypted.summary.verdict === 'BLIND' && control.summary.verdict === 'NOT BLIND' };
  } finally {
    await browser.close();
  }
}
