// The key agreement simulation over the real signaling server: every simulated
// participant is a real WebSocket signaling client (TestClient) joined to a
// meeting on a startTestServer() instance, driving a real MeetingKeyAgent.
//
// - RealServerHub: the sim's Hub on top of TestClients. Server notices go to
//   the agent, the agent's sends become `relay` requests. It counts what the
//   server relayed (sent and delivered, messages and characters), checks that
//   every delivered payload is one its sender sent, and can keep the sent
//   payloads for an audit.
// - RealServerEnv: real timers; settles once no agent timer is pending, no
//   request is unanswered, no leave is unfinished and the sockets were quiet.
// - WireAudit: reads the relayed payloads like the server could (rosters, key
//   entries, commits), for "no key bytes on the wire" and "no key message
//   ever addresses a leaver after it left / a newcomer before it joined".
// - runRealScenario: a seeded schedule (grow to N members, then shrink to one,
//   with single and triple joins and leaves, leader and leader + successor
//   departures), checking Simulation.check() after every step.

import type { AgentTiming, TimerHandle } from '../../shared/e2ee/index.ts';
import { decodeMessage } from '../../shared/e2ee/wire.ts';
import { LIMITS as E2EE_LIMITS } from '../../shared/e2ee/constants.ts';
import { toBase64Url } from '../../shared/e2ee/encoding.ts';
import { Reassembler } from '../../shared/e2ee/fragment.ts';
import type { ServerNotice } from '../../shared/protocol/signaling.ts';
import { TestClient } from '../helpers/ws-client.ts';
import { Simulation, seededRandom, type Hub, type HubConnection, type JoinInfo, type ServerHandlers, type SimEnv, type SimParticipant } from './sim.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ environment

export interface RealServerEnvOptions {
  /** Sockets must have been silent this long before we call things settled. */
  quietMs?: number;
  /** settle() throws after this long (a stuck run should fail, not hang). */
  settleTimeoutMs?: number;
}

export class RealServerEnv implements SimEnv {
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly busyChecks: Array<() => string | undefined> = [];
  private lastActivity = Date.now();
  private readonly quietMs: number;
  private readonly settleTimeoutMs: number;

  constructor(opts: RealServerEnvOptions = {}) {
    this.quietMs = opts.quietMs ?? 25;
    this.settleTimeoutMs = opts.settleTimeoutMs ?? 20_000;
  }

  now(): number {
    return Date.now();
  }

  touch(): void {
    this.lastActivity = Date.now();
  }

  /** `check` names what is still going on, or returns undefined when idle. */
  addBusyCheck(check: () => string | undefined): void {
    this.busyChecks.push(check);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const h = setTimeout(() => {
      this.timers.delete(h);
      this.touch();
      fn();
    }, ms);
    this.timers.add(h);
    return h;
  }

  clearTimer(handle: TimerHandle): void {
    const h = handle as ReturnType<typeof setTimeout>;
    clearTimeout(h);
    this.timers.delete(h);
  }

  private busy(): string | undefined {
    if (this.timers.size > 0) return `${this.timers.size} agent timers pending`;
    for (const check of this.busyChecks) {
      const why = check();
      if (why) return why;
    }
    return undefined;
  }

  async settle(quiesce: () => Promise<void>): Promise<void> {
    const start = Date.now();
    for (;;) {
      await quiesce();
      const why = this.busy();
      if (!why && Date.now() - this.lastActivity >= this.quietMs) return;
      if (Date.now() - start > this.settleTimeoutMs) throw new Error(`not settled after ${this.settleTimeoutMs} ms: ${why ?? 'still receiving'}`);
      await sleep(5);
    }
  }
}

// ------------------------------------------------------------------ traffic counters

export interface TrafficCounters {
  /** Relay requests the clients sent, and their payload characters. */
  sentMessages: number;
  sentChars: number;
  /** Relay notices the clients received, and their payload characters. */
  deliveredMessages: number;
  deliveredChars: number;
  /** Largest single relay payload sent. */
  largestPayload: number;
}

export function emptyCounters(): TrafficCounters {
  return { sentMessages: 0, sentChars: 0, deliveredMessages: 0, deliveredChars: 0, largestPayload: 0 };
}

/** b − a, except `largestPayload`, which is b's (reset it to measure a window). */
export function diffCounters(a: TrafficCounters, b: TrafficCounters): TrafficCounters {
  return {
    sentMessages: b.sentMessages - a.sentMessages,
    sentChars: b.sentChars - a.sentChars,
    deliveredMessages: b.deliveredMessages - a.deliveredMessages,
    deliveredChars: b.deliveredChars - a.deliveredChars,
    largestPayload: b.largestPayload,
  };
}

// ------------------------------------------------------------------ hub

export interface RealServerHubOptions {
  /** The server's base URL (RunningServer.url). */
  url: string;
  env: RealServerEnv;
  /** Decides how each participant leaves: below `explicitLeaveRate` it sends `leave` before closing. */
  rng?: () => number;
  explicitLeaveRate?: number;
  /** Keep every sent payload (for WireAudit and delivery checks). Off for benchmarks. */
  capture?: boolean;
  /** How long a leave may take to reach the others before it counts as a problem. */
  leaveTimeoutMs?: number;
  /**
   * Send join requests one at a time (default), so the simulation learns of
   * joins in the server's order. False lets a wave of joins go out together.
   */
  serializeJoins?: boolean;
  /** Sees every relay request as it goes out (performance.now() time). */
  onSent?: (from: string, to: string | null, payload: string, at: number) => void;
}

export interface SentPayload {
  seq: number;
  at: number;
  from: string;
  to: string | null;
  payload: string;
}

export interface RealHubConnection extends HubConnection {
  readonly client: TestClient;
  /** performance.now() just before the join request went out, and when its answer came. */
  readonly joinSentAt: number;
  readonly joinedAt: number;
  /** Relay requests sent by this participant, and the most within any one second. */
  readonly sent: { messages: number; maxPerSecond: number };
  /** Resolves once the others were told this participant left (or at once if nobody else is there). */
  readonly gone: Promise<void>;
}

interface ConnectionState {
  meetingId: string;
  id: string;
  open: boolean;
  /** Notices held back from the agent (see hold()), or null when delivering. */
  held: ServerNotice[] | null;
  dispatch: (n: ServerNotice) => void;
  inflight: number;
  sendTimes: number[];
  counters: { messages: number; maxPerSecond: number };
}

export class RealServerHub implements Hub {
  readonly traffic: TrafficCounters = emptyCounters();
  /** Server misbehaviour or protocol trouble seen at the sockets (error notices, unknown relays, ...). */
  readonly problems: string[] = [];
  /** Relay requests the server refused, by error code (e.g. an ack to a leader that just left). */
  readonly refusedRelays = new Map<string, number>();
  readonly captured: SentPayload[] = [];
  private readonly sentIndex = new Set<string>();
  private readonly connections = new Set<ConnectionState>();
  private readonly clients = new Set<TestClient>();
  private readonly leaving = new Map<string, { meetingId: string; resolve: () => void }>();
  private joinChain: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private readonly rng: () => number;

  constructor(private readonly opts: RealServerHubOptions) {
    this.rng = opts.rng ?? Math.random;
    opts.env.addBusyCheck(() => {
      let inflight = 0;
      for (const c of this.connections) inflight += c.inflight;
      if (inflight > 0) return `${inflight} relay requests unanswered`;
      if (this.leaving.size > 0) return `${this.leaving.size} leaves not yet announced`;
      for (const c of this.connections) if (c.held && c.held.length > 0) return `notices held for ${c.id}`;
      return undefined;
    });
  }

  /** Participants currently connected through this hub. */
  get size(): number {
    return this.connections.size;
  }

  async join(meetingId: string, handlers: ServerHandlers): Promise<RealHubConnection> {
    const client = await TestClient.connect(this.opts.url);
    this.clients.add(client);
    const env = this.opts.env;
    const state: ConnectionState = { meetingId, id: '', open: true, held: null, dispatch: () => undefined, inflight: 0, sendTimes: [], counters: { messages: 0, maxPerSecond: 0 } };
    let ready = false;
    const early: ServerNotice[] = [];

    const dispatch = (n: ServerNotice): void => {
      if (!state.open) return;
      if (n.type === 'participant-joined') handlers.onPeerJoined(n.participantId);
      else if (n.type === 'participant-left') handlers.onPeerLeft(n.participantId);
      else if (n.type === 'relay') handlers.onRelay(n.from, n.payload);
    };

    client.noticeHandler = (n) => {
      // The TestClient keeps notices for waitFor(); we never wait, so keep memory flat.
      client.notices.length = 0;
      env.touch();
      if (n.type === 'relay') {
        this.traffic.deliveredMessages += 1;
        this.traffic.deliveredChars += n.payload.length;
        if (this.opts.capture && !this.sentIndex.has(`${n.from}\n${n.payload}`)) {
          this.problems.push(`${state.id || 'a joining client'} got a relay from ${n.from} that ${n.from} never sent`);
        }
      } else if (n.type === 'participant-left') {
        const l = this.leaving.get(n.participantId);
        if (l && l.meetingId === meetingId) {
          this.leaving.delete(n.participantId);
          l.resolve();
        }
      } else if (n.type === 'error') {
        this.problems.push(`${state.id || 'a joining client'} got error notice ${n.error.code}: ${n.error.message}`);
      }
      if (!state.open) return;
      if (!ready) early.push(n);
      else if (state.held) state.held.push(n);
      else dispatch(n);
    };
    state.dispatch = dispatch;

    // Joins go out one at a time, so that the order in which the simulation
    // learns of joins (and its participants announce) is the server's order.
    const joinSentAt = { t: 0 };
    const send = (): ReturnType<TestClient['join']> => {
      joinSentAt.t = performance.now();
      return client.join(meetingId, `sim-${this.connections.size}`);
    };
    const joining = this.opts.serializeJoins === false ? send() : this.joinChain.then(send);
    if (this.opts.serializeJoins !== false) this.joinChain = joining.catch(() => undefined);
    const result = await joining;
    const joinedAt = performance.now();
    state.id = result.participantId;
    this.connections.add(state);
    // Notices that arrived with or before the join answer reach the agent only
    // after its start(present) (the caller runs that right after this resolves).
    setImmediate(() => {
      ready = true;
      for (const n of early.splice(0)) {
        if (state.held) state.held.push(n);
        else dispatch(n);
      }
    });

    const info: JoinInfo = { participantId: result.participantId, meetingId: result.meetingId, instanceId: result.instanceId, present: result.peers.map((p) => p.participantId) };
    let gone: Promise<void> = Promise.resolve();
    return {
      info,
      client,
      joinSentAt: joinSentAt.t,
      joinedAt,
      sent: state.counters,
      get gone() {
        return gone;
      },
      relay: (to, payload) => this.relay(state, client, to, payload),
      leave: () => {
        gone = this.leave(state, client);
      },
    };
  }

  private byId(participantId: string): ConnectionState {
    for (const c of this.connections) if (c.id === participantId) return c;
    throw new Error(`no open connection for ${participantId}`);
  }

  /** Holds back server notices for one participant (they queue up at its socket, as on a stalled client). */
  hold(participantId: string): void {
    const c = this.byId(participantId);
    c.held ??= [];
  }

  /** How many notices are held for a participant. */
  heldCount(participantId: string): number {
    return this.byId(participantId).held?.length ?? 0;
  }

  /** Hands the held notices to the agent, in order, and delivers normally again. Returns how many. */
  release(participantId: string): number {
    const c = this.byId(participantId);
    const held = c.held ?? [];
    c.held = null;
    for (const n of held) c.dispatch(n);
    return held.length;
  }

  private relay(state: ConnectionState, client: TestClient, to: string | null, payload: string): void {
    if (!state.open) return;
    const now = performance.now();
    this.opts.onSent?.(state.id, to, payload, now);
    state.sendTimes.push(now);
    while ((state.sendTimes[0] ?? now) < now - 1000) state.sendTimes.shift();
    state.counters.messages += 1;
    state.counters.maxPerSecond = Math.max(state.counters.maxPerSecond, state.sendTimes.length);
    this.traffic.sentMessages += 1;
    this.traffic.sentChars += payload.length;
    this.traffic.largestPayload = Math.max(this.traffic.largestPayload, payload.length);
    if (this.opts.capture) {
      this.captured.push({ seq: this.seq++, at: now, from: state.id, to, payload });
      this.sentIndex.add(`${state.id}\n${payload}`);
    }
    state.inflight += 1;
    this.opts.env.touch();
    void client.request({ type: 'relay', to, payload }).then((reply) => {
      state.inflight -= 1;
      this.opts.env.touch();
      if (!reply.ok) this.refusedRelays.set(reply.error.code, (this.refusedRelays.get(reply.error.code) ?? 0) + 1);
    });
  }

  private async leave(state: ConnectionState, client: TestClient): Promise<void> {
    if (!state.open) return;
    state.open = false;
    this.connections.delete(state);
    // Requests still unanswered die with the socket.
    state.inflight = 0;
    const others = [...this.connections].some((c) => c.meetingId === state.meetingId);
    let announced: Promise<void> = Promise.resolve();
    if (others) {
      announced = new Promise<void>((resolve) => this.leaving.set(state.id, { meetingId: state.meetingId, resolve }));
    }
    if ((this.opts.explicitLeaveRate ?? 0) > 0 && this.rng() < (this.opts.explicitLeaveRate ?? 0)) {
      const r = await client.request({ type: 'leave' });
      if (!r.ok) this.problems.push(`leave request of ${state.id} failed: ${r.error.code}`);
    }
    await client.close();
    this.clients.delete(client);
    const timeoutMs = this.opts.leaveTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([announced.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs)))]);
    clearTimeout(timer);
    if (timedOut) {
      this.leaving.delete(state.id);
      this.problems.push(`nobody was told within ${timeoutMs} ms that ${state.id} left`);
    }
  }

  /** Closes every connection still open (end of a run). */
  async closeAll(): Promise<void> {
    const all = [...this.connections];
    this.connections.clear();
    for (const c of all) c.open = false;
    this.leaving.clear();
    const clients = [...this.clients];
    this.clients.clear();
    await Promise.all(clients.map((c) => c.close()));
  }

}

// ------------------------------------------------------------------ wire audit

export interface EpochOnWire {
  epoch: number;
  leader: string;
  members: string[];
}

/** What the server saw of the key agreement, decoded from the relayed payloads. */
export class WireAudit {
  /** Every 43-character base64url token (a 32-byte value) that crossed the server. */
  readonly tokens = new Set<string>();
  readonly rosters: EpochOnWire[] = [];
  readonly keys: { epoch: number; leader: string; recipients: string[] }[] = [];
  readonly commits = new Map<string, number>();
  readonly messages = new Map<string, { count: number; chars: number; largest: number }>();
  readonly undecodable: string[] = [];
  private readonly reassembler = new Reassembler({ now: () => Date.now() });

  add(p: SentPayload): void {
    for (const t of p.payload.match(/[A-Za-z0-9_-]{43}/g) ?? []) this.tokens.add(t);
    let decoded = decodeMessage(p.payload, E2EE_LIMITS.maxRelayPayload);
    if (!decoded.ok) return void this.undecodable.push(`${p.from}: ${decoded.error.code}`);
    this.count(decoded.value.type, p.payload.length);
    if (decoded.value.type === 'frag') {
      const whole = this.reassembler.add(p.from, decoded.value.fragment);
      if (!whole.ok) return void this.undecodable.push(`${p.from}: ${whole.error.code}`);
      if (whole.value === null) return;
      decoded = decodeMessage(whole.value, E2EE_LIMITS.maxMessageChars);
      if (!decoded.ok) return void this.undecodable.push(`${p.from}: ${decoded.error.code}`);
    }
    const m = decoded.value;
    if (m.type === 'roster') {
      this.rosters.push({ epoch: m.roster.epoch, leader: p.from, members: m.roster.members.map((x) => x.participantId) });
    } else if (m.type === 'keys') {
      this.keys.push({ epoch: m.keys.epoch, leader: p.from, recipients: m.keys.entries.map((e) => e.to) });
    } else if (m.type === 'commit') {
      this.commits.set(m.commit.reason, (this.commits.get(m.commit.reason) ?? 0) + 1);
    }
  }

  private count(type: string, chars: number): void {
    const c = this.messages.get(type) ?? { count: 0, chars: 0, largest: 0 };
    c.count += 1;
    c.chars += chars;
    c.largest = Math.max(c.largest, chars);
    this.messages.set(type, c);
  }

  /**
   * Leavers: no roster or key entry of an epoch at or after `from` (the epoch
   * everyone held once the leave settled) names them. Newcomers: none of an
   * epoch at or before `until` (the epoch in force when they joined) does.
   */
  membershipViolations(leavers: ReadonlyMap<string, number>, newcomers: ReadonlyMap<string, number>): string[] {
    const out: string[] = [];
    const look = (epoch: number, ids: readonly string[], what: string): void => {
      for (const id of ids) {
        const from = leavers.get(id);
        if (from !== undefined && epoch >= from) out.push(`${what} of epoch ${epoch} names ${id}, who left before epoch ${from}`);
        const until = newcomers.get(id);
        if (until !== undefined && epoch <= until) out.push(`${what} of epoch ${epoch} names ${id}, who joined when epoch ${until} was current`);
      }
    };
    for (const r of this.rosters) look(r.epoch, r.members, 'roster');
    for (const k of this.keys) look(k.epoch, k.recipients, 'key message');
    return out;
  }
}

/** Base keys (base64url) any participant of the simulation ever held that also crossed the server. */
export function keysOnWire(sim: Simulation, tokens: ReadonlySet<string>): string[] {
  const leaks: string[] = [];
  for (const p of [...sim.members, ...sim.departed]) {
    for (const [epoch, keys] of p.log.received) for (const k of keys.values()) if (tokens.has(toBase64Url(k))) leaks.push(`${p.id}: epoch ${epoch} key`);
    for (const [epoch, k] of p.log.sent) if (tokens.has(toBase64Url(k.baseKey))) leaks.push(`${p.id}: own epoch ${epoch} key`);
  }
  return leaks;
}

// ------------------------------------------------------------------ scenario

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
  const hub = new RealServerHub({ url: s.url, env, rng: seededRandom(s.seed ^ 0x5eed), explicitLeaveRate: s.explicitLeaveRate ?? 0.5, capture: true });
  const sim = new Simulation({ hub, env, meetingId: s.meetingId ?? `real-sim-${s.seed}-${Date.now()}`, ...(s.timing ? { timing: s.timing } : {}) });
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
          const switched = Math.max(...sim.members.map((m) => m.log.timeline.find((e) => e.event === 'send-key' && e.epoch === epoch)?.t ?? 0));
          console.log(`step ${steps}: ${action} -> ${sim.members.length} members, epoch ${epoch}, all switched after ${switched - stepStartWall} ms, settled after ${Math.round(performance.now() - stepStart)} ms`);
        }
        const found = [...sim.check(), ...hub.problems.splice(0)];
        if (found.length > 0) {
          problems.push(...found.map((f) => `step ${steps} (${action}): ${f}`));
          break;
        }
      }
      if (problems.length > 0) break;
    }

    const audit = new WireAudit();
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
