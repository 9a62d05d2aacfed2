// Command-line parsing for scripts/audit.ts, kept pure so it can be tested.

import { failure, success, type AuditResult } from './result.ts';
import type { KeySpec } from './key-search.ts';
import { parseOptions, usage } from '../../harness/cli.ts';

/** The audit's command line (harness/cli.ts builds the usage text and parses it with util.parseArgs). */
export const AUDIT_TOOL = {
  command: 'npm run audit --',
  summary: 'Audits a tap recording: is the server blind to media and keys? Prints the verdict and the report path.',
  positionals: { name: 'DIR', help: 'a tap directory (npm start -- --tap DIR): meeting-instance folders, or one of them', min: 1, max: 1 },
  options: {
    keys: { kind: 'string', arg: 'FILE', help: 'JSON {"keys":[{"label":"…","hex":"…"}]}: key material to search for' },
    keepMedia: { kind: 'boolean', help: 'keep the IVF/Ogg files given to the decoders in <instance>/audit-media/' },
    ffmpeg: { kind: 'string', arg: 'PATH', help: 'ffmpeg executable (default: ffmpeg on PATH)' },
  },
  notes: 'Writes DIR/report.md, DIR/report.html and DIR/summary.json.\nExit status: 0 BLIND, 1 NOT BLIND, 2 usage or input error.',
} as const;

export const USAGE = usage(AUDIT_TOOL);

export interface CliArgs {
  readonly dir: string;
  readonly keysFile?: string;
  readonly keepMedia: boolean;
  readonly ffmpeg?: string;
  readonly help: boolean;
}

export function parseCliArgs(argv: readonly string[]): AuditResult<CliArgs, 'USAGE'> {
  const parsed = parseOptions(AUDIT_TOOL, argv);
  if (parsed.kind === 'help') return success({ dir: '', keepMedia: false, help: true });
  if (parsed.kind === 'error') return failure('USAGE', parsed.message);
  const { keys: keysFile, keepMedia, ffmpeg } = parsed.values;
  return success({
    dir: parsed.positionals[0]!,
    keepMedia,
    help: false,
    ...(keysFile !== undefined ? { keysFile } : {}),
    ...(ffmpeg !== undefined ? { ffmpeg } : {}),
  });
}

/** {"keys":[{"label":string,"hex":string}]}; hex validity is checked (and reported) by the search itself. */
export function parseKeysFile(text: string): AuditResult<KeySpec[], 'BAD_KEYS'> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return failure('BAD_KEYS', `not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const keys = (raw as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return failure('BAD_KEYS', 'expected {"keys":[{"label":…,"hex":…}]}');
  const out: KeySpec[] = [];
  for (const [i, k] of keys.entries()) {
    const o = k as { label?: unknown; hex?: unknown } | null;
    if (!o || typeof o.label !== 'string' || typeof o.hex !== 'string')
      return failure('BAD_KEYS', `keys[${i}] needs a string label and a string hex`);
    out.push({ label: o.label, hex: o.hex });
  }
  return success(out);
}
