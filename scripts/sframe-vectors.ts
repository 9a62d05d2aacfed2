// npm run sframe:vectors -- FILE
// Checks every case of an SFrame test-vector file (working group JSON layout).
// Prints one line per failed case and ends with exactly "N passed, M failed".
// Exits non-zero on any failure, a malformed file, or a file with no cases.

import { readFile } from 'node:fs/promises';
import { checkVectorText, vectorsPassed } from '../shared/sframe/vectors.ts';

async function main(): Promise<number> {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: npm run sframe:vectors -- FILE');
    return 2;
  }
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
