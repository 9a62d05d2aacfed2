// Issue #12: seeded schedules of the whole key agreement over a server that drops,
// duplicates, delays, reorders and replays relays, runs participants of its own
// (announcements with small-order X25519 keys, forged rosters, oversized rosters,
// forged key messages) while honest members join, leave and are removed.
// Invariants (test/e2ee/schedules/invariants.ts), after every step:
//   I1 no honest member sends under an epoch someone it knows to be gone holds, beyond 2 s;
//   I2 every key message entry is sealed to a member of the roster its leader signed for that epoch;
//   I4 'ok' only while sending under the current epoch, whose key the member holds;
// and 3 s after the network heals, I3: every honest member ok, one epoch, one security code.
// Heal (network.ts): faults and forgeries stop, every copy a fault withheld is delivered then (before
// it, a drop is a delay the server chose: the relay is reliable), and relays are in order from then on.
// 3 s from the heal covers a change already in flight: a 250 ms batch, a 1.5 s commit timeout, relays.
// E2EE_SCHEDULE_SEED=n replays one schedule (all four invariants asserted); E2EE_SCHEDULES=n sets how
// many run (10,000 by default, about 4-7 minutes of CPU), split over one process per core.
//
// In npm test: I1, I2 and I4 (safety) must hold in every schedule. I3 (liveness) does not yet in
// every one: 1 schedule in 10,000 converges later than 3 s after the heal (two commit timeouts in
// a row, for participants of the server's that never ack). It converges within 10 s
// (E2EE_SCHEDULE_CONVERGE_MS=10000). The test prints the rate and the first seeds, and fails if the
// rate exceeds I3_CEILING, so liveness cannot get worse unnoticed; docs/protocol.md §7.5 lists the
// open cases, §7.5a how forks heal.

import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { generateIdentity } from '../../shared/e2ee/identity.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { RESULT_PREFIX, runBatch, type BatchResult } from './schedules/batch.ts';
import { runSchedule } from './schedules/run.ts';

const only = process.env.E2EE_SCHEDULE_SEED;
const total = only !== undefined ? 1 : Number(process.env.E2EE_SCHEDULES ?? 10_000);
/** Processes to split the seeds over (one per core, at most 4); E2EE_SCHEDULE_PROCS=1 runs them in this one. */
const procs = Math.max(1, Math.min(total, Number(process.env.E2EE_SCHEDULE_PROCS ?? Math.min(4, availableParallelism()))));

/** Share of schedules allowed to miss I3, lowered from 1 % to 0.5 % once it fell to 0.19 %, to 0.2 % at 0.11 %, to 0.1 % at 0.03 %, and to 0.05 % at 0.01 % (measured on seeds 1-10,000: 0.01 % with the older leader not waiting for those on a provisional chain, 0.03 % with provisional chains (protocol v5), 0.08 % with a departed leader's removals taken from rosters that do not chain, 0.10 % with a member asked to lead by the one its head names taking over, 0.11 % with a successor's own epoch replacing its leader's it never got, 0.12 % with lone leaders yielding, 0.15 % with rosters held for a graft, 0.19 % with unacked members skipped at failover (v4), 0.26 % with late rosters, 0.4 % before them with protocol v3, 0.35 % with v2, 2.8 % before fork healing). */
const I3_CEILING = 0.0005;

/** Seeds first, first+stride, … up to `total`, in a child process (tsx, so it runs the same TypeScript). */
async function batchInChild(first: number, stride: number): Promise<BatchResult> {
  const count = Math.ceil((total - first + 1) / stride);
  const script = path.join(import.meta.dirname, 'schedules', 'batch.ts');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', script, String(first), String(count), String(stride)],
    {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, E2EE_SCHEDULE_VERBOSE: '' },
    },
  );
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (!line) throw new Error(`schedule batch ${first}/${stride} printed no result:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as BatchResult;
}

it(`${total} adversarial schedules keep I1, I2 and I4${only !== undefined ? ' and I3' : ''}`, { timeout: 900_000 }, async () => {
  const started = performance.now();
  if (only !== undefined) {
    // Replaying one seed: in this process, so E2EE_SCHEDULE_VERBOSE prints its steps here, and all four invariants are asserted.
    await initCrypto();
    const r = await runSchedule(Number(only), generateIdentity());
    if (r.problems.length > 0) expect.fail(`seed ${only}\n${r.problems.join('\n')}\nschedule:\n  ${r.steps.join('\n  ')}`);
    return;
  }
  const batches = await Promise.all(
    procs === 1
      ? [runBatch(Array.from({ length: total }, (_, i) => i + 1))]
      : Array.from({ length: procs }, (_, k) => batchInChild(k + 1, procs)),
  );
  const failure = batches.map((b) => b.failure).find((f) => f !== undefined);
  if (failure) {
    const replay = `E2EE_SCHEDULE_SEED=${failure.seed} npx vitest run test/e2ee/adversarial-schedules.test.ts`;
    expect.fail(`seed ${failure.seed} (replay: ${replay})\n${failure.problems.join('\n')}\nschedule:\n  ${failure.steps.join('\n  ')}`);
  }
  const ran = batches.reduce((n, b) => n + b.ran, 0);
  expect(ran, 'every seed ran').toBe(total);
  const stuck = batches.flatMap((b) => b.stuck).sort((a, b) => a - b);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const rate = stuck.length / total;
  console.log(
    `${total} schedules in ${seconds} s (${procs} process${procs > 1 ? 'es' : ''}): I1, I2, I4 held in all; I3 missed in ${stuck.length} (${(100 * rate).toFixed(2)} %)` +
      (stuck.length ? `, first seeds ${stuck.slice(0, 8).join(', ')} (replay one with E2EE_SCHEDULE_SEED=n)` : ''),
  );
  expect(rate, `I3 missed in ${stuck.length} of ${total} schedules`).toBeLessThanOrEqual(I3_CEILING);
});
