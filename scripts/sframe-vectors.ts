// npm run sframe:vectors -- FILE
// Checks every case of an SFrame test-vector file (working group JSON layout).
// Prints one line per failed case and ends with exactly "N passed, M failed".
// Exits non-zero on any failure, a malformed file, or a file with no cases.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { checkVectorText, vectorsPassed } from '../shared/sframe/vectors.ts';

const USAGE = `usage: npm run sframe:vectors -- FILE

Checks every case of an SFrame (RFC 9605) test-vector file in the working
group's JSON layout (header, aes_ctr_hmac, sframe) and ends with "N passed, M failed".
The RFC's own vectors: test/sframe/vectors/sframe-rfc9605.json

options:
  -h, --help   print this and exit

exit status: 0 all passed, 1 a case failed or none was found, 2 bad usage`;

/** The one FILE argument, or an exit status: 0 after --help, 2 on bad usage (with a one-line error). */
function fileArgument(): string | number {
  let parsed;
  try {
    parsed = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (e) {
    // Node's message goes on to explain '--'; its first sentence names the problem.
    const message = (e instanceof Error ? e.message : String(e)).split(/\.\s/)[0];
    console.error(`sframe-vectors: ${message} (see --help)`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length > 0) {
    console.error(`sframe-vectors: expected exactly one FILE, got ${parsed.positionals.length} (see --help)`);
    return 2;
  }
  return file;
}

async function main(): Promise<number> {
  const file = fileArgument();
  if (typeof file === 'number') return file;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    console.error(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
    console.log('0 passed, 0 failed');
    return 1;
  }
  const report = await checkVectorText(text);
  for (const w of report.warnings) console.error(`warning: ${w}`);
  for (const e of report.errors) console.log(`error: ${e}`);
  for (const f of report.failures) console.log(`FAIL ${f}`);
  if (report.passed + report.failed === 0) console.error('no test cases found');
  console.log(`${report.passed} passed, ${report.failed} failed`);
  return vectorsPassed(report) ? 0 : 1;
}

process.exitCode = await main();
