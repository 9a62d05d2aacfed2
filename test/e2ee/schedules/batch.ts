// One process's share of the adversarial schedules: `tsx batch.ts FIRST COUNT STRIDE` runs seeds
// FIRST, FIRST+STRIDE, … (COUNT of them) and prints one result line. The schedules are pure
// simulations on one thread, so the test splits the seeds over one such process per core:
// on CI's 2 cores the 10,000 take half the wall time they take in one.
// The seeds are interleaved (a stride, not ranges) so that slow schedules spread evenly.

import { pathToFileURL } from 'node:url';
import { generateIdentity } from '../../../shared/e2ee/identity.ts';
import { initCrypto } from '../../../shared/e2ee/primitives.ts';
import { runSchedule, type ScheduleResult } from './run.ts';

/** What one batch reports: every seed that missed I3, and the first safety failure (the batch stops there). */
export interface BatchResult {
  ran: number;
  stuck: number[];
  failure?: ScheduleResult;
}

/** The prefix of the one stdout line that carries a BatchResult as JSON. */
export const RESULT_PREFIX = 'SCHEDULE-BATCH ';

export async function runBatch(seeds: readonly number[]): Promise<BatchResult> {
  await initCrypto();
  const server = generateIdentity();
  const stuck: number[] = [];
  let ran = 0;
  for (const seed of seeds) {
    const r = await runSchedule(seed, server);
    ran++;
    if (r.problems.some((p) => !p.startsWith('I3'))) return { ran, stuck, failure: r };
    if (r.problems.length > 0) stuck.push(seed);
  }
  return { ran, stuck };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [first, count, stride] = process.argv.slice(2).map(Number);
  if (!Number.isInteger(first) || !Number.isInteger(count) || !Number.isInteger(stride) || stride! < 1) {
    console.error('usage: tsx test/e2ee/schedules/batch.ts FIRST COUNT STRIDE');
    process.exit(2);
  }
  const seeds = Array.from({ length: count! }, (_, i) => first! + i * stride!);
  const result = await runBatch(seeds);
  console.log(RESULT_PREFIX + JSON.stringify(result));
}
