// Key agreement at scale over the real signaling server.
//
//   npx tsx bench/keyagreement.ts [--sizes 10,50,200] [--rotations N] [--budget-s 170] [--no-write]
//
// For each size N, a fresh meeting on one startTestServer() instance (real
// mediasoup worker, real WebSockets) with N MeetingKeyAgents, each on its own
// signaling connection (the harness of harness/real-server/). Then
// rotations: a member leaves (closes its socket), someone joins, or the leader
// leaves. Per rotation, from the change (socket close / join request sent):
//   - keys sent:   the leader broadcast roster + keys for the new epoch
//   - all receive: every member holds the new epoch's receive keys (receive-keys)
//   - all switched: every member switched its send key (send-key)
// plus relay messages and characters (sent by clients / delivered to clients),
// the largest payload and the process CPU.
//
// All agents and the server share one Node process (2 cores here), so these
// times include every client's crypto, serialised. To read them for browsers,
// each doing only its own work, one extra rotation per N is instrumented: the
// leader's inbound acks and one member's notices are held back, then released
// into an otherwise idle process and timed: one member's work per epoch, and
// the leader's ack processing; the leader's build time (batch timer firing to
// key message sent) comes from the ordinary rotations.
//
// Agent timings are the defaults (250 ms batch, 1.5 s commit timeout) except
// retireAfterMs (200 ms instead of 5 s), which only decides when old keys are
// erased, after the measured interval; it keeps the run short.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LinkSeal, MeetingKeyAgent, generateIdentity, initCrypto, type AgentTiming } from '../shared/e2ee/index.ts';
import { randomBytes } from 'node:crypto';

/** Every simulated participant holds the same meeting link. */
const LINK_SECRET = randomBytes(32);
import { REPO_ROOT, startTestServer } from '../harness/server.ts';
import { RealServerEnv } from '../harness/real-server/env.ts';
import { RealServerHub, diffCounters, type RealHubConnection, type TrafficCounters } from '../harness/real-server/hub.ts';
import { seededRandom } from '../harness/sim.ts';
import { exitWithUsageError, parseCommandLine } from '../harness/cli.ts';
import {
  cpuModel,
  estimateSwitched,
  growth,
  median,
  ms,
  nproc,
  perClientTable,
  table,
  type Instrumented,
  type Kind,
  type Rotation,
  type SizeResult,
} from './keyagreement-report.ts';

// ------------------------------------------------------------------ options

const KEYAGREEMENT = {
  command: 'npx tsx bench/keyagreement.ts',
  summary: 'Key agreement at scale over the real signaling server: N simulated members, rotations timed per step.',
  options: {
    sizes: { kind: 'string', default: '10,50,200', arg: 'N,N,…', help: 'meeting sizes (3..250: the server admits 250 per meeting)' },
    rotations: { kind: 'number', arg: 'N', help: 'rotations per size (default 12 up to 50 members, else 6)' },
    budgetS: { kind: 'number', default: 170, help: 'seconds after which no further rotation starts' },
    noWrite: { kind: 'boolean', help: 'print the report only (default: append it to bench/RESULTS.md)' },
  },
} as const;
const { values: opts } = parseCommandLine(KEYAGREEMENT);
const SIZES = opts.sizes.split(',').map((s) => Number(s.trim()));
if (SIZES.some((n) => !Number.isInteger(n) || n < 3 || n > 250)) {
  exitWithUsageError(KEYAGREEMENT, '--sizes: integers in 3..250 (the server admits 250 per meeting)');
}
const ROTATIONS = opts.rotations;
const BUDGET_MS = opts.budgetS * 1000;
const WRITE = !opts.noWrite;
const TIMING: Partial<AgentTiming> = { retireAfterMs: 200 };
const JOIN_WAVE = 100;

const started = performance.now();
const overBudget = (): boolean => performance.now() - started > BUDGET_MS;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, pred: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t = performance.now();
  while (!pred()) {
    if (performance.now() - t > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await sleep(2);
  }
}

// ------------------------------------------------------------------ meeting

interface Member {
  id: string;
  agent: MeetingKeyAgent;
  conn: RealHubConnection;
  /** epoch → performance.now() of the first receive-keys / send-key. */
  rk: Map<number, number>;
  sk: Map<number, number>;
  rosterIds: string;
  leaderId: string;
  errors: string[];
  /** performance.now() of this agent's timer firings (the leader's batch timer starts an epoch). */
  timerFires: number[];
  onReceiveKeys?: (epoch: number) => void;
}

interface Tap {
  keysSentAt: Map<string, number>;
  commitReasons: string[];
  acksTo: Map<string, number>;
}

class Meeting {
  readonly env = new RealServerEnv({ quietMs: 40, settleTimeoutMs: 90_000 });
  readonly hub: RealServerHub;
  readonly members: Member[] = [];
  tap: Tap = Meeting.freshTap();
  /** The meeting link, once the first join tells us the instance: the tap opens payloads with it. */
  private link: LinkSeal | undefined;

  constructor(
    url: string,
    readonly meetingId: string,
  ) {
    this.hub = new RealServerHub({
      url,
      env: this.env,
      explicitLeaveRate: 0,
      // Waves of joins go out together (one or two epochs per wave, not one per join).
      serializeJoins: false,
      onSent: (from, to, payload, at) => {
        // Payloads are sealed with the meeting link: open them as a link holder would.
        const opened = this.link?.open(from, payload);
        const plain = opened?.ok ? opened.value : payload;
        // Encoded messages start with their type: {"t":"keys",... ; a fragmented one's first part carries it in its data.
        const type = /^\{"t":"frag".*?"i":0,.*?"data":"\{\\"t\\":\\"([a-z]+)/.exec(plain)?.[1] ?? plain.slice(6, 12);
        if (type.startsWith('keys')) this.tap.keysSentAt.set(from, at);
        else if (type.startsWith('ack') && to) this.tap.acksTo.set(to, (this.tap.acksTo.get(to) ?? 0) + 1);
        else if (type.startsWith('commit')) this.tap.commitReasons.push((JSON.parse(plain) as { reason: string }).reason);
      },
    });
  }

  static freshTap(): Tap {
    return { keysSentAt: new Map(), commitReasons: [], acksTo: new Map() };
  }

  /**
   * Joins the meeting at the server. With `deferStart`, the agent is created
   * but not started and the server's notices wait at the socket: call the
   * returned start() later (setup lets a whole wave start at once).
   */
  async join(deferStart = false): Promise<Member & { start(): void }> {
    let agent: MeetingKeyAgent | undefined;
    const conn = (await this.hub.join(this.meetingId, {
      onPeerJoined: (id) => agent?.onPeerJoined(id),
      onPeerLeft: (id) => agent?.onPeerLeft(id),
      onRelay: (from, payload) => agent?.onRelay(from, payload),
    })) as RealHubConnection;
    const { info } = conn;
    this.link ??= new LinkSeal(LINK_SECRET, info.meetingId, info.instanceId);
    // Synchronously after the join answer, before any notice reaches the agent.
    if (deferStart) this.hub.hold(info.participantId);
    const env = this.env;
    const m: Member = {
      id: info.participantId,
      agent: undefined as unknown as MeetingKeyAgent,
      conn,
      rk: new Map(),
      sk: new Map(),
      rosterIds: '',
      leaderId: '',
      errors: [],
      timerFires: [],
    };
    const a = new MeetingKeyAgent({
      meetingId: info.meetingId,
      instanceId: info.instanceId,
      selfId: info.participantId,
      identity: generateIdentity(),
      send: (to, payload) => conn.relay(to, payload),
      link: new LinkSeal(LINK_SECRET, info.meetingId, info.instanceId),
      now: () => env.now(),
      setTimer: (fn, ms) =>
        env.setTimer(() => {
          m.timerFires.push(performance.now());
          fn();
        }, ms),
      clearTimer: (h) => env.clearTimer(h),
      timing: TIMING,
    });
    a.on('receive-keys', (e) => {
      if (!m.rk.has(e.epoch)) m.rk.set(e.epoch, performance.now());
      m.onReceiveKeys?.(e.epoch);
    });
    a.on('send-key', (e) => {
      if (!m.sk.has(e.epoch)) m.sk.set(e.epoch, performance.now());
    });
    a.on('roster', (e) => {
      m.rosterIds = e.members.map((x) => x.participantId).join();
      m.leaderId = e.members.find((x) => x.isLeader)?.participantId ?? '';
    });
    a.on('error', (e) => m.errors.push(`${e.code}: ${e.message}`));
    m.agent = agent = a;
    this.members.push(m);
    const start = (): void => {
      a.start(info.present);
      if (deferStart) this.hub.release(info.participantId);
    };
    if (!deferStart) start();
    return Object.assign(m, { start });
  }

  leave(m: Member): number {
    this.members.splice(this.members.indexOf(m), 1);
    const t = performance.now();
    m.conn.leave();
    m.agent.stop();
    return t;
  }

  leader(): Member {
    const id = this.members[0]?.leaderId;
    const l = this.members.find((m) => m.id === id);
    if (!l) throw new Error('no agreed leader');
    return l;
  }

  async settle(): Promise<void> {
    await this.env.settle(async () => {
      for (const m of this.members) await m.agent.idle();
    });
  }

  /** The epoch everyone sends with, or a list of what disagrees. */
  check(): { epoch: number; problems: string[] } {
    const problems: string[] = [];
    const first = this.members[0];
    const epoch = first?.agent.currentEpoch ?? 0;
    // Concurrent joins may reach the leader in any order: same roster for all, same set as present.
    const present = this.members
      .map((m) => m.id)
      .sort()
      .join();
    const roster = first?.rosterIds ?? '';
    if (roster.split(',').sort().join() !== present) problems.push(`roster [${roster}] is not the ${this.members.length} present`);
    for (const m of this.members) {
      if (m.agent.currentEpoch !== epoch) problems.push(`${m.id} sends with epoch ${m.agent.currentEpoch}, not ${epoch}`);
      if (m.rosterIds !== roster) problems.push(`${m.id} shows another roster`);
      if (m.errors.length > 0) problems.push(`${m.id}: ${m.errors.splice(0).join('; ')}`);
    }
    problems.push(...this.hub.problems.splice(0));
    return { epoch, problems };
  }

  async close(): Promise<void> {
    for (const m of this.members) m.agent.stop();
    await this.hub.closeAll();
  }
}

// ------------------------------------------------------------------ rotations

function startWindow(meeting: Meeting): { traffic: TrafficCounters; cpu: NodeJS.CpuUsage; epoch: number } {
  meeting.tap = Meeting.freshTap();
  const traffic = { ...meeting.hub.traffic };
  meeting.hub.traffic.largestPayload = 0;
  return { traffic, cpu: process.cpuUsage(), epoch: meeting.check().epoch };
}

async function rotate(meeting: Meeting, kind: Kind, rng: () => number): Promise<Rotation> {
  const w = startWindow(meeting);
  let t0: number;
  if (kind === 'join') {
    const m = await meeting.join();
    t0 = m.conn.joinSentAt;
  } else {
    const leader = meeting.leader();
    const others = meeting.members.filter((m) => m !== leader);
    const victim = kind === 'leader-leave' ? leader : (others[Math.floor(rng() * others.length)] as Member);
    t0 = meeting.leave(victim);
  }
  await meeting.settle();
  const cpu = process.cpuUsage(w.cpu);
  const { epoch, problems } = meeting.check();
  const leader = meeting.leader();
  const keysSentAt = meeting.tap.keysSentAt.get(leader.id) ?? NaN;
  const lastFire = [...leader.timerFires].reverse().find((t) => t <= keysSentAt) ?? NaN;
  const max = (f: (m: Member) => number | undefined): number => Math.max(...meeting.members.map((m) => f(m) ?? Infinity));
  if (epoch !== w.epoch + 1) problems.push(`went from epoch ${w.epoch} to ${epoch}`);
  return {
    kind,
    members: meeting.members.length,
    epochs: epoch - w.epoch,
    keysSentMs: keysSentAt - t0,
    allReceiveMs: max((m) => m.rk.get(epoch)) - t0,
    allSwitchedMs: max((m) => m.sk.get(epoch)) - t0,
    leaderBuildMs: keysSentAt - lastFire,
    commit: meeting.tap.commitReasons.join(',') || '-',
    traffic: diffCounters(w.traffic, meeting.hub.traffic),
    cpuMs: (cpu.user + cpu.system) / 1000,
    problems,
  };
}

/**
 * A member leaves while one other member's notices and (once it has sent the
 * new keys) the leader's notices are held back; each is released into an
 * otherwise idle process and timed. The probe's missing ack makes the leader
 * commit on timeout, so this rotation is not part of the latency figures.
 */
async function instrumentedRotation(meeting: Meeting, rng: () => number): Promise<Instrumented> {
  const w = startWindow(meeting);
  const E = w.epoch + 1;
  const leader = meeting.leader();
  const others = meeting.members.filter((m) => m !== leader);
  const probe = others.splice(Math.floor(rng() * others.length), 1)[0] as Member;
  const victim = others[Math.floor(rng() * others.length)] as Member;
  meeting.hub.hold(probe.id);
  leader.onReceiveKeys = (epoch) => {
    if (epoch === E) meeting.hub.hold(leader.id);
  };
  meeting.leave(victim);
  const ackers = meeting.members.length - 2;
  await waitUntil('all acks are held at the leader', () => meeting.hub.heldCount(leader.id) >= ackers);
  leader.onReceiveKeys = undefined;
  await sleep(20);

  let t = performance.now();
  let cpu0 = process.cpuUsage();
  const acks = meeting.hub.release(leader.id);
  await leader.agent.idle();
  const leaderAckMs = performance.now() - t;
  const ackCpu = process.cpuUsage(cpu0);

  // The commit (on timeout: the probe never acked) reaches everyone but the probe.
  await waitUntil('the others switch', () => meeting.members.every((m) => m === probe || m.sk.has(E)), 10_000);
  await waitUntil('the probe has all its notices', () => meeting.hub.heldCount(probe.id) >= 3);
  await sleep(50);

  cpu0 = process.cpuUsage();
  t = performance.now();
  meeting.hub.release(probe.id);
  await probe.agent.idle();
  const memberMs = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  await meeting.settle();
  const { epoch, problems } = meeting.check();
  if (epoch !== E) problems.push(`instrumented rotation ended in epoch ${epoch}, expected ${E}`);
  if (!probe.sk.has(E)) problems.push('the probe did not switch');
  return {
    memberMs,
    memberCpuMs: (cpu.user + cpu.system) / 1000,
    leaderAckMs,
    leaderAckCpuMs: (ackCpu.user + ackCpu.system) / 1000,
    acks,
    problems,
  };
}

// ------------------------------------------------------------------ one size

async function runSize(url: string, n: number): Promise<SizeResult> {
  const rng = seededRandom(n);
  const meeting = new Meeting(url, `bench-keys-${n}-${Date.now()}`);
  const problems: string[] = [];
  const t = performance.now();
  const setupCpu0 = process.cpuUsage();
  try {
    while (meeting.members.length < n) {
      const wave = Math.min(JOIN_WAVE, n - meeting.members.length);
      // The first joiner alone, so that it leads; then waves whose agents all
      // start once the whole wave is in the meeting (an epoch or two per wave).
      const joined = await Promise.all(Array.from({ length: meeting.members.length === 0 ? 1 : wave }, () => meeting.join(true)));
      for (const m of joined) m.start();
      await meeting.settle();
      const c = meeting.check();
      problems.push(...c.problems);
      process.stderr.write(`  N=${n}: ${meeting.members.length} joined, epoch ${c.epoch}, ${Math.round(performance.now() - t)} ms\n`);
    }
    const setupMs = performance.now() - t;
    const sc = process.cpuUsage(setupCpu0);
    const setupCpuMs = (sc.user + sc.system) / 1000;
    const count = ROTATIONS ?? (n <= 50 ? 12 : 6);
    const kinds: Kind[] = [];
    for (let i = 0; kinds.length < count; i++) kinds.push(i % 3 === 2 ? 'leader-leave' : 'leave', 'join');
    // The instrumented rotation first, so that the time budget never drops it.
    const instrumented = await instrumentedRotation(meeting, rng);
    problems.push(...instrumented.problems.map((p) => `instrumented: ${p}`));
    const rotations: Rotation[] = [];
    for (const kind of kinds.slice(0, count)) {
      // Past the time budget, stop once there is at least one leave and one join.
      if (overBudget() && rotations.length >= 2) {
        problems.push(`time budget reached: ${rotations.length} of ${count} rotations`);
        break;
      }
      const r = await rotate(meeting, kind, rng);
      rotations.push(r);
      problems.push(...r.problems.map((p) => `${kind}: ${p}`));
      process.stderr.write(
        `  N=${n} ${kind.padEnd(12)} keys sent ${r.keysSentMs.toFixed(0)} ms, all receive ${r.allReceiveMs.toFixed(0)} ms, all switched ${r.allSwitchedMs.toFixed(0)} ms, commit ${r.commit}, cpu ${r.cpuMs.toFixed(0)} ms\n`,
      );
    }
    return { n, setupMs, setupCpuMs, rotations, instrumented, problems };
  } finally {
    await meeting.close();
  }
}

// ------------------------------------------------------------------ main

const loadAtStart = os.loadavg()[0] ?? 0;
await initCrypto();
const server = await startTestServer();
const results: SizeResult[] = [];
try {
  for (const n of SIZES) {
    if (overBudget()) {
      console.error(`time budget reached: N=${n} skipped`);
      break;
    }
    process.stderr.write(`N=${n}: joining…\n`);
    const r = await runSize(server.url, n);
    process.stderr.write(
      `N=${n}: ${r.rotations.length} rotations, setup ${Math.round(r.setupMs)} ms (CPU ${Math.round(r.setupCpuMs)} ms)${r.problems.length ? `, PROBLEMS: ${r.problems.join(' | ')}` : ''}\n`,
    );
    results.push(r);
  }
} finally {
  await server.close();
}

const command = `npx tsx bench/keyagreement.ts${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`;
const problems = results.flatMap((r) => r.problems.map((p) => `N=${r.n}: ${p}`));
const target = results.find((r) => r.n === 200);
const verdict = target
  ? `Target ≤ 2 s for a 200-member rotation: all switched (p50) after ${ms(median(target.rotations.map((x) => x.allSwitchedMs)))} ms in this one-process run ` +
    `(200 clients' work on ${nproc()} cores); estimated ${ms(estimateSwitched(target))} ms with each browser doing only its own work.`
  : '';
const report = [
  `## Key agreement at scale`,
  ``,
  `${new Date().toISOString().slice(0, 10)} · ${nproc()} × ${cpuModel()} · Node ${process.version} · \`${command}\` (${Math.round((performance.now() - started) / 1000)} s) · ` +
    `1-min load average ${loadAtStart.toFixed(1)} at start, ${(os.loadavg()[0] ?? 0).toFixed(1)} at end (other processes share the machine)`,
  ``,
  `Real server (startTestServer: signaling + mediasoup worker) on loopback; every member a MeetingKeyAgent on its own WebSocket connection; each N a fresh meeting. ` +
    `Times from the change (socket closed / join request sent) to: the leader sending the new epoch's keys; every member holding its receive keys; every member sending with it. ` +
    `Default agent timings (250 ms batch, 1.5 s commit timeout; old keys retired after 200 ms instead of 5 s to keep the run short). ` +
    `Messages and characters are relay payloads counted at the clients: sent (one broadcast counts once) / delivered (one per recipient).`,
  ``,
  `**All N clients and the server run in one Node process on ${nproc()} cores**, so the latencies include every client's crypto, serialised: ` +
    `every member parses and verifies the N-member roster and key message and derives N SFrame keys per epoch (one HKDF-Extract, then one HMAC-SHA256 per sender), ` +
    `so the process does O(N²) work per rotation while a browser does O(N).`,
  ``,
  table(results),
  ``,
  `Per-client work (what one browser would do). "Alone": one rotation per N with one member's and the leader's inbound messages held back, then released into an otherwise idle process and timed ` +
    `(that rotation commits on timeout and is not in the table above); a member's epoch is: verify roster, open its key entry, derive N SFrame keys, sign the ack, verify the commit. ` +
    `The estimate (an isolated join or leave: no batch window, the batching is leading-edge) adds the leader's build, one member's epoch (CPU), the leader's ack verification (CPU, scaled to N−1 acks) and 7 one-way trips of 25 ms ` +
    `(leave/join notice, roster+keys, ack, commit through the server), assuming each browser does only its own work, as fast as Node does here.`,
  ``,
  `Setup (the first member alone, then waves of up to ${JOIN_WAVE} whose agents start together): ${results.map((r) => `N=${r.n} ${(r.setupMs / 1000).toFixed(1)} s (process CPU ${(r.setupCpuMs / 1000).toFixed(1)} s)`).join(', ')}.`,
  ``,
  perClientTable(results),
  ``,
  `Growth:`,
  growth(results),
  ``,
  verdict,
  problems.length
    ? `\nProblems: ${problems.join('; ')}`
    : 'No problems: every rotation ended with all members on one new epoch and one roster, no agent errors.',
  ``,
].join('\n');

console.log('\n' + report);
if (WRITE) {
  const file = path.join(REPO_ROOT, 'bench', 'RESULTS.md');
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const prefix =
    existing.length === 0 ? '# Benchmark results\n\n' : existing.endsWith('\n\n') ? '' : existing.endsWith('\n') ? '\n' : '\n\n';
  fs.appendFileSync(file, prefix + report);
  console.error(`appended to ${path.relative(process.cwd(), file)}`);
}
process.exit(problems.length > 0 ? 1 : 0);
