// Command-line parsing for scripts/audit.ts, kept pure so it can be tested.

import { failure, success, type AuditResult } from './result.ts';
import type { KeySpec } from './key-search.ts';

export const USAGE = `usage: npm run audit -- DIR [--keys FILE] [--keep-media] [--ffmpeg PATH]

  DIR           a tap directory (npm start -- --tap DIR): meeting-instance folders, or one of them
  --keys FILE   JSON {"keys":[{"label":"…","hex":"…"}]}: key material to search for
  --keep-media  keep the IVF/Ogg files given to the decoders in <instance>/audit-media/
  --ffmpeg PATH ffmpeg executable (default: ffmpeg on PATH)

Writes DIR/report.md, DIR/report.html and DIR/summary.json.
Exit status: 0 BLIND, 1 NOT BLIND, 2 usage or input error.`;

export interface CliArgs {
  readonly dir: string;
  readonly keysFile?: string;
  readonly keepMedia: boolean;
  readonly ffmpeg?: string;
  readonly help: boolean;
}

export function parseCliArgs(argv: readonly string[]): AuditResult<CliArgs, 'USAGE'> {
  let dir: string | undefined;
  let keysFile: string | undefined;
  let ffmpeg: string | undefined;
  let keepMedia = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') return success({ dir: '', keepMedia, help: true });
    if (a === '--keep-media') keepMedia = true;
    else if (a === '--keys' || a === '--ffmpeg') {
      const v = argv[++i];
      if (v === undefined) return failure('USAGE', `${a} needs a value`);
      if (a === '--keys') keysFile = v;
      else ffmpeg = v;
    } else if (a.startsWith('--keys=')) keysFile = a.slice(7);
    else if (a.startsWith('--ffmpeg=')) ffmpeg = a.slice(9);
    else if (a.startsWith('-')) return failure('USAGE', `unknown option ${a}`);
    else if (dir === undefined) dir = a;
    else return failure('USAGE', `unexpected argument ${a}`);
  }
  if (dir === undefined) return failure('USAGE', 'missing DIR');
  return success({ dir, keepMedia, help: false, ...(keysFile !== undefined ? { keysFile } : {}), ...(ffmpeg !== undefined ? { ffmpeg } : {}) });
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
    if (!o || typeof o.label !== 'string' || typeof o.hex !== 'string') return failure('BAD_KEYS', `keys[${i}] needs a string label and a string hex`);
    out.push({ label: o.label, hex: o.hex });
  }
  return success(out);
}
