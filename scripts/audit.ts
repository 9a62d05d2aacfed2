// npm run audit -- DIR [--keys FILE] [--keep-media] [--ffmpeg PATH]
// Audits a tap recording: is the server blind to media and keys?
// Prints the verdict and the report path. Exit 0 BLIND, 1 NOT BLIND, 2 usage/input error.

import fs from 'node:fs';
import { auditTap, AuditInputError } from './audit/audit.ts';
import { parseCliArgs, parseKeysFile, USAGE } from './audit/cli.ts';

async function main(): Promise<number> {
  const args = parseCliArgs(process.argv.slice(2));
  if (!args.ok) {
    console.error(`npm run audit: ${args.message} (--help for usage)`);
    return 2;
  }
  if (args.value.help) {
    console.log(USAGE);
    return 0;
  }
  let keys;
  if (args.value.keysFile !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(args.value.keysFile, 'utf8');
    } catch (e) {
      console.error(`cannot read ${args.value.keysFile}: ${e instanceof Error ? e.message : String(e)}`);
      return 2;
    }
    const parsed = parseKeysFile(text);
    if (!parsed.ok) {
      console.error(`${args.value.keysFile}: ${parsed.message}`);
      return 2;
    }
    keys = parsed.value;
  }
  try {
    const summary = await auditTap(args.value.dir, {
      ...(keys ? { keys } : {}),
      keepMedia: args.value.keepMedia,
      ...(args.value.ffmpeg ? { ffmpeg: args.value.ffmpeg } : {}),
    });
    console.log(summary.verdict);
    for (const r of summary.reasons) console.log(`  - ${r}`);
    for (const c of summary.caveats) console.log(`  (caveat) ${c}`);
    console.log(`report: ${summary.files.html}`);
    console.log(`        ${summary.files.markdown}`);
    console.log(`        ${summary.files.json}`);
    return summary.verdict === 'BLIND' ? 0 : 1;
  } catch (e) {
    if (e instanceof AuditInputError) {
      console.error(`${e.code}: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = await main();
