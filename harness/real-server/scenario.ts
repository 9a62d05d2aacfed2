// runRealScenario: the key agreement simulation over the real signaling server,
// every simulated participant a real WebSocket client driving a real
// MeetingKeyAgent. A seeded schedule (grow to N members, then shrink to one,
// with single and triple joins and leaves, leader and leader + successor
// departures) checks Simulation.check() after every step, then audits the wire.

import type { AgentTiming } from '../../shared/e2ee/index.ts';
import { Simulation, seededRandom, type SimParticipant } from '../sim.ts';
import { RealServerEnv } from './env.ts';
import { RealServerHub, type RealHubConnection, type TrafficCounters } from './hub.ts';
import { WireAudit, keysOnWire } from './wire-audit.ts';

export interface RealScenario {
  url: string;
  seed: number;
  /** Meeting size to grow to: participants join (and some leave) until this many are present, then leave until one is left. */
  participants: number;
  /** Grow/shrink cycles (default 1). */
  rounds?: number;
  /** While growing, probability that a step is a leave of a random member (when more than two are present). */
  leaveRate: number;
  /** Every this many steps the leader leaves; every twice as many, leader and successor leave at once (and, while growing, one joins). */
  leaderLeavesEvery: number;
  /** Probability that a join step (or, while shrinking, a leave step) moves `multiSize` participants at once (default 0.3). */
  multiRate?: number;
  /** How many join or leave together in such a step (default 3). */
  multiSize?: number;
  /** Share of leaves that send an explicit `leave` request before closing the socket (default 0.5). */
  explicitLeaveRate?: number;
  timing?: Partial<AgentTiming>;
  meetingId?: string;
  /** Log every step. */
  trace?: boolean;
}

export interface RealScenarioResult {
  steps: number;
  joins: number;
  leaves: number;
  leaderLeaves: number;
  /** Violations of the first failing step (empty when all steps passed), then audit findings. */
  problems: string[];
  peakMembers: number;
  finalMembers: number;
  finalEpoch: number;
  elapsedMs: number;
  /** Wall time per step: the change plus settling. */
  stepMs: number[];
  traffic: TrafficCounters;
  refusedRelays: Record<string, number>;
  commits: Record<string, number>;
  /** Most relay requests any one connection sent within one second. */
  maxSendsPerSecond: number;
  messages: Record<string, { count: number; chars: number; largest: number }>;
  /** The decoded wire traffic (for further checks). */
  audit: WireAudit;
}

/**
 * The seeded join/leave schedule of simulation.test.ts over the real server:
 * after every step (once the meeting settled) Simulation.check() must hold.
 * Then the wire audit: no base key crossed the server, and no roster or key
 * message named a leaver after its leave or a newcomer before its join.
 */
export async function runRealScenario(s: RealScenario): Promise<RealScenarioResult> {
  const t0 = performance.now();
  const rng = seededRandom(s.seed);
  const env = new RealServerEnv();
  const hub = new RealServerHub({
    url: s.url,
    env,
    rng: seededRandom(s.seed ^ 0x5eed),
    explicitLeaveRate: s.explicitLeaveRate ?? 0.5,
    capture: true,
  });
  const sim = new Simulation({
    hub,
    env,
    meetingId: s.meetingId ?? `real-sim-${s.seed}-${Date.now()}`,
    ...(s.timing ? { timing: s.timing } : {}),
  });
  const maxSends: number[] = [];
  const connections = new Map<string, RealHubConnection>();
  const leftBefore = new Map<string, number>();
  const joinedDuring = new Map<string, number>();
  const stepMs: number[] = [];
  const problems: string[] = [];
  let peak = 0;
  let joins = 0;
  let steps = 0;

  const epochNow = (): number => Math.max(0, ...sim.members.map((m) => m.agent.currentEpoch));
  const join = async (): Promise<SimParticipant> => {
    const before = epochNow();
    const p = await sim.join();
    joins += 1;
    connections.set(p.id, p.connection as RealHubConnection);
    joinedDuring.set(p.id, before);
    return p;
  };
  const pendingLeavers: string[] = [];
  const leave = (p: SimParticipant): void => {
    sim.leave(p);
    pendingLeavers.push(p.id);
    const c = connections.get(p.id);
    if (c) maxSends.push(c.sent.maxPerSecond);
  };

  let leaves = 0;
  let leaderLeaves = 0;
  const multi = s.multiSize ?? 3;
  /** `count` distinct random members, in seeded order. */
  const pick = (count: number): SimParticipant[] => {
    const pool = [...sim.members];
    const out: SimParticipant[] = [];
    while (out.length < count && pool.length > 0) out.push(...pool.splice(Math.floor(rng() * pool.length), 1));
    return out;
  };
  const leaderAndSuccessor = (): [SimParticipant, SimParticipant] => {
    const order = sim.members[0]?.log.roster?.members.map((m) => m.participantId) ?? [];
    const [first, second] = order.slice(0, 2).map((id) => sim.members.find((m) => m.id === id));
    if (!first || !second) throw new Error(`step ${steps}: no leader and successor in [${order.join()}]`);
    return [first, second];
  };

  try {
    for (let round = 0; round < (s.rounds ?? 1); round++) {
      let growing = true;
      while (growing || sim.members.length > 1) {
        steps += 1;
        const stepStart = performance.now();
        const stepStartWall = Date.now();
        const size = sim.members.length;
        if (size >= s.participants) growing = false;
        let action: string;
        if (size > 3 && steps % (s.leaderLeavesEvery * 2) === 0) {
          const [first, second] = leaderAndSuccessor();
          leave(first);
          leave(second);
          leaves += 2;
          leaderLeaves += 1;
          action = `leader ${first.id} and successor ${second.id} leave`;
          if (growing) {
            action += ' as one joins';
            await join();
          }
        } else if (size > 1 && steps % s.leaderLeavesEvery === 0) {
          const leader = sim.leader();
          if (!leader) throw new Error(`step ${steps}: members disagree on the leader`);
          action = `leader ${leader.id} leaves`;
          leave(leader);
          leaves += 1;
          leaderLeaves += 1;
        } else if (!growing && size > multi + 1 && rng() < (s.multiRate ?? 0.3)) {
          const victims = pick(multi);
          action = `${victims.map((v) => v.id).join(', ')} leave at once`;
          for (const v of victims) leave(v);
          leaves += multi;
        } else if (size > 2 && (!growing || rng() < s.leaveRate)) {
          const victim = sim.members[Math.floor(rng() * size)] as SimParticipant;
          action = `${victim.id} leaves`;
          leave(victim);
          leaves += 1;
        } else if (!growing) {
          const victim = sim.members[size - 1] as SimParticipant;
          action = `last joiner ${victim.id} leaves`;
          leave(victim);
          leaves += 1;
        } else if (size + multi <= s.participants && rng() < (s.multiRate ?? 0.3)) {
          action = `${multi} join at once`;
          await Promise.all(Array.from({ length: multi }, () => join()));
        } else {
          action = 'one joins';
          await join();
        }
        await sim.settle();
        peak = Math.max(peak, sim.members.length);
        const epoch = sim.members[0]?.agent.currentEpoch ?? 0;
        for (const id of pendingLeavers.splice(0)) leftBefore.set(id, epoch);
        stepMs.push(performance.now() - stepStart);
        if (s.trace) {
          // When the last member switched to the final epoch, relative to the step's start.
          const switched = Math.max(
            ...sim.members.map((m) => m.log.timeline.find((e) => e.event === 'send-key' && e.epoch === epoch)?.t ?? 0),
          );
          console.log(
            `step ${steps}: ${action} -> ${sim.members.length} members, epoch ${epoch}, all switched after ${switched - stepStartWall} ms, settled after ${Math.round(performance.now() - stepStart)} ms`,
          );
        }
        const found = [...sim.check(), ...hub.problems.splice(0)];
        if (found.length > 0) {
          problems.push(...found.map((f) => `step ${steps} (${action}): ${f}`));
          break;
        }
      }
      if (problems.length > 0) break;
    }

    const holder = sim.members[0] ?? sim.departed[0];
    if (!holder) throw new Error('nobody joined');
    const audit = new WireAudit(holder.link);
    for (const p of hub.captured) audit.add(p);
    problems.push(...audit.undecodable.map((u) => `undecodable relay payload from ${u}`));
    problems.push(...keysOnWire(sim, audit.tokens).map((k) => `key bytes relayed: ${k}`));
    problems.push(...audit.membershipViolations(leftBefore, joinedDuring));
    for (const m of sim.members) maxSends.push(connections.get(m.id)?.sent.maxPerSecond ?? 0);

    return {
      steps,
      joins,
      leaves,
      leaderLeaves,
      problems,
      peakMembers: peak,
      finalMembers: sim.members.length,
      finalEpoch: sim.members[0]?.agent.currentEpoch ?? 0,
      elapsedMs: performance.now() - t0,
      stepMs,
      traffic: { ...hub.traffic },
      refusedRelays: Object.fromEntries(hub.refusedRelays),
      commits: Object.fromEntries(audit.commits),
      maxSendsPerSecond: Math.max(0, ...maxSends),
      messages: Object.fromEntries(audit.messages),
      audit,
    };
  } finally {
    for (const m of sim.members) m.agent.stop();
    await hub.closeAll();
  }
}
