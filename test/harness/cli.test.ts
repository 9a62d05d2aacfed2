// Every command-line tool answers --help with its usage (exit 0) and a bad
// option with one line (exit 2), through harness/cli.ts.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOptions, usage, type OptionTable, type Tool } from '../../harness/cli.ts';
import { REPO_ROOT } from '../../harness/server.ts';

const TOOLS = [
  'bench/call.ts',
  'bench/join.ts',
  'bench/join-race.ts',
  'bench/keyagreement.ts',
  'bench/rotation.ts',
  'bench/server-load.ts',
  'bench/server-load-child.ts',
  'scripts/audit.ts',
  'scripts/audit-demo.ts',
];

function run(tool: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const tsx = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
  const r = spawnSync(tsx, [tool, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.each(TOOLS)('%s', (tool) => {
  it('prints its usage for --help and exits 0', () => {
    const r = run(tool, '--help');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: /);
    expect(r.stdout).toContain('--help');
  });

  it('refuses an unknown option with one line and exits 2', () => {
    const r = run(tool, '--no-such-option');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain("'--no-such-option'");
  });
});

describe('parseOptions', () => {
  const tool = {
    command: 'example',
    summary: 'An example.',
    options: {
      runs: { kind: 'number', default: 3, help: 'how many' },
      onStatic: { kind: 'string', default: 'dist-test', help: 'a build' },
      out: { kind: 'string', help: 'a directory' },
      keepMedia: { kind: 'boolean', help: 'keep it' },
    },
  } as const satisfies Tool<OptionTable>;

  it('gives the defaults, reads kebab-case options into camelCase keys, and numbers as numbers', () => {
    expect(parseOptions(tool, [])).toEqual({
      kind: 'ok',
      values: { runs: 3, onStatic: 'dist-test', out: undefined, keepMedia: false },
      positionals: [],
    });
    expect(parseOptions(tool, ['--runs', '5', '--on-static=dist', '--keep-media', '--out', 'x'])).toEqual({
      kind: 'ok',
      values: { runs: 5, onStatic: 'dist', out: 'x', keepMedia: true },
      positionals: [],
    });
  });

  it('refuses a number that is not one, a missing value and a stray argument', () => {
    expect(parseOptions(tool, ['--runs', 'many'])).toMatchObject({ kind: 'error', message: "--runs must be a number, got 'many'" });
    expect(parseOptions(tool, ['--runs'])).toMatchObject({ kind: 'error' });
    expect(parseOptions(tool, ['extra'])).toMatchObject({ kind: 'error' });
  });

  it('lists every option with its default in the usage', () => {
    const text = usage(tool);
    expect(text).toContain('--runs N');
    expect(text).toContain('(default 3)');
    expect(text).toContain('--on-static VALUE');
    expect(text).toContain('--keep-media');
  });
});
