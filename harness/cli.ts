// Command-line options for the benches and scripts: node's util.parseArgs with
// typed values, a usage text made from the option table, and the exit codes
// every tool shares: `--help` prints the usage and exits 0, a bad option
// prints one line and exits 2.

import { parseArgs } from 'node:util';

export interface OptionSpec {
  kind: 'string' | 'number' | 'boolean';
  help: string;
  /** Absent: the value is undefined unless given (booleans default to false). */
  default?: string | number | boolean;
  /** Placeholder in the usage text (default N for numbers, VALUE for strings). */
  arg?: string;
}

export type OptionTable = Record<string, OptionSpec>;

type ValueOf<O extends OptionSpec> = O['kind'] extends 'number' ? number : O['kind'] extends 'boolean' ? boolean : string;

/** Options by their camelCase key (`--video-kbps` is `videoKbps`). */
export type Values<T extends OptionTable> = {
  [K in keyof T]: T[K] extends { default: string | number | boolean }
    ? ValueOf<T[K]>
    : T[K]['kind'] extends 'boolean'
      ? boolean
      : ValueOf<T[K]> | undefined;
};

export interface Tool<T extends OptionTable> {
  /** How it is run, e.g. `npx tsx bench/join.ts` or `npm run audit --`. */
  command: string;
  /** What it does, in a sentence or two. */
  summary: string;
  options: T;
  /** Positional arguments, e.g. `DIR`; absent: none are accepted. */
  positionals?: { name: string; help: string; min: number; max: number };
  /** Lines after the option table (exit codes, examples). */
  notes?: string;
}

export type Parsed<T extends OptionTable> =
  { kind: 'ok'; values: Values<T>; positionals: string[] } | { kind: 'help' } | { kind: 'error'; message: string };

const flag = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export function usage<T extends OptionTable>(tool: Tool<T>): string {
  const pos = tool.positionals;
  const rows: Array<[string, string]> = [];
  if (pos) rows.push([pos.name, pos.help]);
  for (const [key, o] of Object.entries(tool.options)) {
    const arg = o.kind === 'boolean' ? '' : ` ${o.arg ?? (o.kind === 'number' ? 'N' : 'VALUE')}`;
    const dflt = o.default === undefined || o.kind === 'boolean' ? '' : ` (default ${String(o.default)})`;
    rows.push([`${flag(key)}${arg}`, `${o.help}${dflt}`]);
  }
  rows.push(['-h, --help', 'print this help and exit']);
  const width = Math.max(...rows.map(([l]) => l.length));
  return [
    `usage: ${tool.command}${pos ? ` ${pos.name}` : ''} [options]`,
    '',
    tool.summary,
    '',
    ...rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`),
    ...(tool.notes ? ['', tool.notes] : []),
  ].join('\n');
}

/** Parses `argv` against the tool's table; pure (no printing, no exit), for tools that test their parsing. */
export function parseOptions<T extends OptionTable>(tool: Tool<T>, argv: readonly string[]): Parsed<T> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [key, o] of Object.entries(tool.options)) options[flag(key).slice(2)] = { type: o.kind === 'boolean' ? 'boolean' : 'string' };
  let raw: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    raw = parseArgs({ args: [...argv], options, strict: true, allowPositionals: tool.positionals !== undefined });
  } catch (e) {
    // util.parseArgs appends advice on positionals after the first sentence.
    return { kind: 'error', message: (e instanceof Error ? e.message : String(e)).split(/\.\s/)[0]! };
  }
  if (raw.values['help'] === true) return { kind: 'help' };
  const values: Record<string, string | number | boolean | undefined> = {};
  for (const [key, o] of Object.entries(tool.options)) {
    const v = raw.values[flag(key).slice(2)];
    if (v === undefined) values[key] = o.default ?? (o.kind === 'boolean' ? false : undefined);
    else if (o.kind === 'number') {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n)) return { kind: 'error', message: `${flag(key)} must be a number, got '${String(v)}'` };
      values[key] = n;
    } else values[key] = v;
  }
  const pos = tool.positionals;
  if (pos && (raw.positionals.length < pos.min || raw.positionals.length > pos.max)) {
    const what = raw.positionals.length < pos.min ? `missing ${pos.name}` : `unexpected argument '${raw.positionals[pos.max]}'`;
    return { kind: 'error', message: what };
  }
  return { kind: 'ok', values: values as Values<T>, positionals: raw.positionals };
}

/** Parses the process's arguments: prints the usage and exits 0 on --help, prints one line and exits 2 on a bad option. */
export function parseCommandLine<T extends OptionTable>(
  tool: Tool<T>,
  argv: readonly string[] = process.argv.slice(2),
): { values: Values<T>; positionals: string[] } {
  const parsed = parseOptions(tool, argv);
  if (parsed.kind === 'help') {
    console.log(usage(tool));
    process.exit(0);
  }
  if (parsed.kind === 'error') exitWithUsageError(tool, parsed.message);
  return parsed;
}

/** A bad option or a value out of range: one line on stderr, exit 2. */
export function exitWithUsageError<T extends OptionTable>(tool: Tool<T>, message: string): never {
  console.error(`${tool.command.replace(/ --$/, '')}: ${message.split('\n')[0]} (--help for usage)`);
  process.exit(2);
}
