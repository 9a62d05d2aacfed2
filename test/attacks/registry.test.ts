// The attack registry and how a server turns into an attacker: only with
// --test-mode, only with a known attack name, and never quietly.

import { describe, expect, it } from 'vitest';
import { ATTACK_NAMES, installAttack } from '../../harness/adversary/index.ts';
import { startAdversaryServer } from '../../harness/adversary/server.ts';
import { isConfigError, parseConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { REPO_ROOT } from '../../harness/server.ts';

const REQUIRED = [
  'ghost',
  'swap',
  'replay',
  'tamper',
  'drop-rotation',
  'inject-plaintext',
  'impersonate-leader',
  'name-swap',
  'fake-leader',
  'relabel-source',
  'relabel-sender',
  'relabel-kind',
];

describe('attack registry', () => {
  it('has every attack of the issue', () => {
    for (const name of REQUIRED) expect(ATTACK_NAMES).toContain(name);
  });

  it('rejects an unknown attack with an error that lists the valid ones', async () => {
    const log = createLogger('error', () => {});
    const err = await installAttack('drop-everything', { log }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain("unknown attack 'drop-everything'");
    for (const name of REQUIRED) expect(err!.message).toContain(name);
    // Inherited object keys are not attacks either.
    await expect(installAttack('toString', { log })).rejects.toThrow(/unknown attack/);
  });

  it('is refused without --test-mode', () => {
    const cfg = parseConfig(['--attack', 'ghost'], {}, REPO_ROOT);
    expect(isConfigError(cfg)).toBe(true);
    if (isConfigError(cfg)) expect(cfg.message).toMatch(/test-only/);
  });

  it('a server started with --test-mode --attack NAME says so loudly and exposes the attack', async () => {
    const cfg = parseConfig(['--port', '0', '--workers', '1', '--quiet', '--test-mode', '--attack', 'tamper'], {}, REPO_ROOT);
    if (isConfigError(cfg)) throw new Error(cfg.message);
    const lines: string[] = [];
    const server = await startAdversaryServer(
      cfg,
      {},
      createLogger('warn', (l) => lines.push(l)),
    );
    try {
      expect(lines.some((l) => /WARN\s+ATTACK MODE tamper: this server is deliberately malicious \(test only\)/.test(l))).toBe(true);
      expect(server.attack?.name).toBe('tamper');
      expect(server.attack?.stats.counters).toEqual({});
    } finally {
      await server.close();
    }
    const bad = parseConfig(['--port', '0', '--workers', '1', '--test-mode', '--attack', 'nope'], {}, REPO_ROOT);
    if (isConfigError(bad)) throw new Error(bad.message);
    await expect(
      startAdversaryServer(
        bad,
        {},
        createLogger('error', () => {}),
      ),
    ).rejects.toThrow(/valid attacks are: .*inject-plaintext/);
  });
});
