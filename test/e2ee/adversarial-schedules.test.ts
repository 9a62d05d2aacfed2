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
// On the code of this commit I3 fails (first at seed 3): a newcomer or a stopped member that missed
// rosters cannot verify the leader's newest one (ROSTER_CHAIN_BROKEN) and nothing resends them.
// E2EE_SCHEDULE_SEED=n replays one schedule; E2EE_SCHEDULES=n sets how many run.
// Opt-in (skipped in npm test) until those liveness gaps are fixed: it is the
// acceptance test of #12 and must join npm test when it passes. Run it with
// E2EE_SCHEDULES=10000 npx vitest run test/e2ee/adversarial-schedules.test.ts

import { beforeAll, expect, it } from 'vitest';
import { generateIdentity, type IdentityKeyPair } from '../../shared/e2ee/identity.ts';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { runSchedule } from './schedules/run.ts';

let server: IdentityKeyPair;
beforeAll(async () => {
  await initCrypto();
  server = generateIdentity();
});

const only = process.env.E2EE_SCHEDULE_SEED;
const seeds = only !== undefined ? [Number(only)] : Array.from({ length: Number(process.env.E2EE_SCHEDULES ?? 10_000) }, (_, i) => i + 1);

const optedIn = process.env.E2EE_SCHEDULES !== undefined || only !== undefined;

it.skipIf(!optedIn)(`${seeds.length} adversarial schedules keep I1–I4`, { timeout: 600_000 }, async () => {
  const started = performance.now();
  for (const seed of seeds) {
    const r = await runSchedule(seed, server);
    if (r.problems.length > 0) {
      const replay = `E2EE_SCHEDULE_SEED=${seed} npx vitest run test/e2ee/adversarial-schedules.test.ts`;
      expect.fail(`seed ${seed} (replay: ${replay})\n${r.problems.join('\n')}\nschedule:\n  ${r.steps.join('\n  ')}`);
    }
  }
  console.log(`${seeds.length} schedules in ${((performance.now() - started) / 1000).toFixed(1)} s`);
});
