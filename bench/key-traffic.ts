// Key traffic per rotation in the one-process simulation (issue #15 item 3).
//
//   npx tsx bench/key-traffic.ts [--sizes 10,50,200,1000]
//
// N agents over the in-memory hub (harness/sim.ts, virtual clock: no
// latency, so wall time is the CPU of all N agents' key agreement in one
// process). Joins go in one wave (the leader batches them); then three
// rotations: a member leaves, one joins, the leader leaves. Per rotation:
// characters delivered in total (a broadcast counts once per recipient),
// received per continuing member (median and max), by the newcomer, and the
// wall time from the change until every agent is idle. Growth exponents are
// log(b/a) / log(N_b/N_a) between successive sizes.

import { initCrypto } from '../shared/e2ee/index.ts';
import { FakeHub, seededRandom, Simulation, VirtualClock, type SimParticipant } from '../harness/sim.ts';

const arg = process.argv.indexOf('--sizes');
const SIZES = (arg > 0 ? (process.argv[arg + 1] ?? '') : '10,50,200,1000').split(',').map(Number);

interface Row {
  n: number;
  kind: string;
  delivered: number;
  median: number;
  max: number;
  newcomer: number | null;
  ms: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

async function runSize(n: number): Promise<Row[]> {
  const clock = new VirtualClock();
  const received = new Map<string, number>();
  let delivered = 0;
  let present: () => string[] = () => [];
  const hub = new FakeHub(clock, {
    rng: seededRandom(n),
    maxLatencyMs: 0,
    tap: (from, to, payload) => {
      const recipients = to === null ? present().filter((id) => id !== from) : [to];
      for (const id of recipients) received.set(id, (received.get(id) ?? 0) + payload.length);
      delivered += payload.length * recipients.length;
    },
  });
  const sim = new Simulation({ hub, env: clock, meetingId: 'traffic' });
  present = () => sim.members.map((m) => m.id);
  for (let i = 0; i < n; i++) await sim.join({ name: `P${i}` });
  await sim.settle();
  const problems = sim.check();
  if (problems.length > 0) throw new Error(`N=${n} setup: ${problems.slice(0, 3).join(' | ')}`);

  const rows: Row[] = [];
  const rotate = async (kind: string, change: () => Promise<SimParticipant | null>): Promise<void> => {
    received.clear();
    delivered = 0;
    const t = performance.now();
    const before = new Set(present());
    const newcomer = await change();
    await sim.settle();
    const ms = performance.now() - t;
    const continuing = present().filter((id) => before.has(id) && id !== sim.leader()?.id);
    const per = continuing.map((id) => received.get(id) ?? 0);
    rows.push({
      n,
      kind,
      delivered,
      median: median(per),
      max: Math.max(...per),
      newcomer: newcomer ? (received.get(newcomer.id) ?? 0) : null,
      ms,
    });
  };
  const others = () => sim.members.filter((m) => m !== sim.leader());
  await rotate('leave', async () => {
    sim.leave(others()[Math.floor(others().length / 2)]!);
    return null;
  });
  await rotate('join', () => sim.join({ name: 'Newcomer' }));
  await rotate('leader-leave', async () => {
    sim.leave(sim.leader()!);
    return null;
  });
  return rows;
}

const kib = (c: number): string => (c / 1024).toFixed(2);

await initCrypto();
const all: Row[] = [];
for (const n of SIZES) {
  const t = performance.now();
  const rows = await runSize(n);
  all.push(...rows);
  console.error(`N=${n}: done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
console.log('| N | rotation | delivered (KiB) | received per continuing member, median / max (KiB) | newcomer (KiB) | wall (ms) |');
console.log('|---|---|---|---|---|---|');
for (const r of all) {
  const newcomer = r.newcomer === null ? '—' : kib(r.newcomer);
  console.log(`| ${r.n} | ${r.kind} | ${kib(r.delivered)} | ${kib(r.median)} / ${kib(r.max)} | ${newcomer} | ${r.ms.toFixed(0)} |`);
}
console.log('\nGrowth exponents (log ratio / log N ratio), delivered and median received per member:');
for (const kind of ['leave', 'join', 'leader-leave']) {
  const rows = all.filter((r) => r.kind === kind);
  const parts: string[] = [];
  for (let i = 1; i < rows.length; i++) {
    const [a, b] = [rows[i - 1]!, rows[i]!];
    const e = (x: number, y: number): string => (Math.log(y / x) / Math.log(b.n / a.n)).toFixed(2);
    parts.push(`${a.n}→${b.n}: delivered ${e(a.delivered, b.delivered)}, per member ${e(a.median, b.median)}`);
  }
  console.log(`- ${kind}: ${parts.join('; ')}`);
}
