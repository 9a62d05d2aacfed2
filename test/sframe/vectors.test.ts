import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJsonExact } from '../../shared/sframe/exact-json.ts';
import { checkVectorText, vectorsPassed } from '../../shared/sframe/vectors.ts';
import { REPO_ROOT, TEAM_VECTORS } from './fixtures.ts';

function runCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npx', ['tsx', 'scripts/sframe-vectors.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lastLine(s: string): string {
  return s.trimEnd().split('\n').at(-1) ?? '';
}

/** A copy of the team file with one byte of the first sframe ct changed. */
function corruptedCopy(): string {
  const text = readFileSync(TEAM_VECTORS, 'utf8');
  const sframeAt = text.indexOf('"sframe"');
  const ctAt = text.indexOf('"ct": "', sframeAt) + '"ct": "'.length + 12;
  const digit = text[ctAt] === '0' ? '1' : '0';
  const dir = mkdtempSync(path.join(tmpdir(), 'sframe-vectors-'));
  const file = path.join(dir, 'corrupted.json');
  writeFileSync(file, text.slice(0, ctAt) + digit + text.slice(ctAt + 1));
  return file;
}

describe('RFC 9605 test vectors', () => {
  it('the team vector file passes in full', async () => {
    const report = await checkVectorText(readFileSync(TEAM_VECTORS, 'utf8'));
    expect(report.failures).toEqual([]);
    expect(report.errors).toEqual([]);
    expect(report.passed).toBeGreaterThan(0);
    expect(vectorsPassed(report)).toBe(true);
  });

  it('the CLI exits 0 on the team file and ends with "N passed, 0 failed"', () => {
    const r = runCli(TEAM_VECTORS);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(lastLine(r.stdout)).toMatch(/^[1-9][0-9]* passed, 0 failed$/);
  });

  it('the CLI exits non-zero when one byte of one ct is changed, naming the mismatch', () => {
    const r = runCli(corruptedCopy());
    expect(r.status).not.toBe(0);
    const m = /^(\d+) passed, (\d+) failed$/.exec(lastLine(r.stdout));
    expect(Number(m?.[2])).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/FAIL sframe\[\d+\].*ct mismatch/);
  });

  it('the CLI exits non-zero on a file with no cases', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sframe-vectors-'));
    const file = path.join(dir, 'empty.json');
    writeFileSync(file, '{"header": []}');
    const r = runCli(file);
    expect(r.status).not.toBe(0);
    expect(lastLine(r.stdout)).toBe('0 passed, 0 failed');
  });

  it('the CLI prints its usage and exits 0 on --help', () => {
    const r = runCli('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run sframe:vectors -- FILE/);
  });

  it('the CLI refuses an unknown option with one line and exit status 2', () => {
    const r = runCli('--frobnicate', TEAM_VECTORS);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^sframe-vectors: Unknown option '--frobnicate'/)]);
  });

  it('warns about unknown top-level keys without failing', async () => {
    const report = await checkVectorText('{"header": [{"kid": 291, "ctr": 17767, "encoded": "9901234567"}], "signatures": []}');
    expect(report).toMatchObject({ passed: 1, failed: 0, warnings: ['unknown top-level key "signatures" ignored'] });
    expect(vectorsPassed(report)).toBe(true);
  });

  it('checks every case it is given, whatever the suite, KID or CTR', async () => {
    const header = (kid: string, ctr: string, encoded: string) => `{"kid": ${kid}, "ctr": ${ctr}, "encoded": "${encoded}"}`;
    const text = `{"header": [${header('18446744073709551615', '18446744073709551615', 'ff' + 'ff'.repeat(16))}, ${header('7', '8', '7808')}, ${header('7', '8', '7809')}],
      "sframe": [{"cipher_suite": 9}]}`;
    const report = await checkVectorText(text);
    expect(report.passed).toBe(2);
    expect(report.failed).toBe(2);
    expect(report.failures[0]).toMatch(/^header\[2\] kid=7 ctr=8: encoded header mismatch: expected 7809, got 7808/);
    expect(report.failures[1]).toMatch(/^sframe\[0\].*unsupported SFrame cipher suite 9/);
  });
});

describe('exact JSON parsing', () => {
  it('keeps integers above 2^53 exact', () => {
    const r = parseJsonExact('{"ctr": 18446744073709551615, "n": [72057594037927937, -1, 1.5, 2e3]}');
    expect(r).toEqual({ ok: true, value: { ctr: 18446744073709551615n, n: [72057594037927937n, -1n, 1.5, 2000] } });
  });

  it('parses strings with escapes, literals and nesting', () => {
    const r = parseJsonExact(' {"a": "x\\"y\\u0041\\n", "b": [true, false, null, {}], "c": []} ');
    expect(r).toEqual({ ok: true, value: { a: 'x"yA\n', b: [true, false, null, {}], c: [] } });
  });

  it.each(['', '{', '{"a" 1}', '[1,]', '{"a": 01}', '"unterminated', '{} x', 'nul'])('rejects %j with JSON_SYNTAX', (text) => {
    expect(parseJsonExact(text)).toMatchObject({ ok: false, error: { code: 'JSON_SYNTAX' } });
  });
});
