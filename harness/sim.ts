// In-memory meeting simulation for the key agreement protocol.
//
// - VirtualClock: timers and message deliveries in virtual time, so a
//   scenario with 5 s retire timers runs in milliseconds and deterministically.
// - FakeHub: behaves like the signaling server for what the agent sees
//   (assigns IDs, tells others about joins and leaves, forwards relay payloads
//   asynchronously, in order per recipient, up to 64 KiB).
// - Simulation: joins and removes participants through any Hub and checks the
//   invariants after things settle. The Hub and SimEnv interfaces are what a
//   run over the real WebSocket server implements (harness/real-server/).
//
// One module (about 450 lines) because the three share the Hub, SimEnv and
// participant types and are always used together.

import {
  LinkSeal,
  MeetingKeyAgent,
  generateIdentity,
  type AgentState,
  type AgentTiming,
  type ChatEvent,
  type ErrorEvent,
  type IdentityKeyPair,
  type LobbyEvent,
  type RosterEvent,
  type StatusEvent,
  type TimerHandle,
} from '../shared/e2ee/index.ts';
import { toBase64Url } from '../shared/e2ee/encoding.ts';
import { LIMITS } from '../shared/protocol/signaling.ts';
import { randomBytes } from 'node:crypto';

// ------------------------------------------------------------------ seeded randomness

/** mulberry32: small, fast, good enough to drive a test schedule. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seededId(rng: () => number, bytes = 12): string {
  const b = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) b[i] = Math.floor(rng() * 256);
  return toBase64Url(b);
}

// ------------------------------------------------------------------ environment

/** Time and settling, virtual or real. */
export interface SimEnv {
  now(): number;
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /** Runs until nothing is scheduled any more; `quiesce` awaits all agents' queues. */
  settle(quiesce: () => Promise<void>): Promise<void>;
}

interface Scheduled {
  at: number;
  seq: number;
  fn: () => void;
}

export class VirtualClock implements SimEnv {
  private t = 0;
  private seq = 0;
  private queue: Scheduled[] = [];
  private readonly cancelled = new Set<number>();

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const item = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    // Keep the queue sorted by (at, seq): binary insertion.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid];
      if (q && (q.at < item.at || (q.at === item.at && q.seq < item.seq))) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, item);
    return item.seq;
  }

  clearTimer(handle: TimerHandle): void {
    if (typeof handle === 'number') this.cancelled.add(handle);
  }

  /** Runs everything due within the next `ms` (no further), then sets the clock to that instant. */
  async advance(ms: number, quiesce: () => Promise<void>): Promise<void> {
    const end = this.t + Math.max(0, ms);
    await quiesce();
    for (;;) {
      const first = this.queue[0];
      if (!first || first.at > end) break;
      const due: Scheduled[] = [];
      while (this.queue[0] && this.queue[0].at === first.at) due.push(this.queue.shift() as Scheduled);
      this.t = first.at;
      for (const item of due) {
        if (this.cancelled.delete(item.seq)) continue;
        item.fn();
      }
      await quiesce();
    }
    this.t = end;
  }

  async settle(quiesce: () => Promise<void>): Promise<void> {
    await quiesce();
    for (;;) {
      const first = this.queue[0];
      if (!first) return;
      // Everything due at the same instant runs before we wait, so agents work in parallel.
      const due: Scheduled[] = [];
      while (this.queue[0] && this.queue[0].at === first.at) due.push(this.queue.shift() as Scheduled);
      this.t = first.at;
      for (const item of due) {
        if (this.cancelled.delete(item.seq)) continue;
        item.fn();
      }
      await quiesce();
    }
  }
}

// ------------------------------------------------------------------ hub

/** What a participant receives from the server. */
export interface ServerHandlers {
  onPeerJoined(participantId: string): void;
  onPeerLeft(participantId: string): void;
  onRelay(from: string, payload: string): void;
}

export interface JoinInfo {
  participantId: string;
  meetingId: string;
  instanceId: string;
  /** Already present, in join order. */
  present: string[];
}

export interface HubConnection {
  readonly info: JoinInfo;
  relay(to: string | null, payload: string): void;
  leave(): void;
}

/** The server, as far as the key agreement sees it. */
export interface Hub {
  join(meetingId: string, handlers: ServerHandlers): Promise<HubConnection>;
}

export interface FakeHubOptions {
  rng: () => number;
  minLatencyMs?: number;
  maxLatencyMs?: number;
  maxPayloadChars?: number;
  /** Sees every accepted relay payload once (as the server would). */
  tap?: (from: string, to: string | null, payload: string) => void;
  /** A misbehaving server: return false to drop this copy of a relay payload. */
  filter?: (from: string, to: string, payload: string) => boolean;
}

interface Room {
  instanceId: string;
  /** Insertion order is join order. */
  members: Map<string, ServerHandlers>;
}

export class FakeHub implements Hub {
  private readonly rooms = new Map<string, Room>();
  /** Per-recipient delivery horizon, so each connection sees messages in server order. */
  private readonly horizon = new Map<string, number>();
  readonly violations: string[] = [];

  constructor(
    private readonly clock: VirtualClock,
    private readonly opts: FakeHubOptions,
  ) {}

  async join(meetingId: string, handlers: ServerHandlers): Promise<HubConnection> {
    let room = this.rooms.get(meetingId);
    if (!room) {
      room = { instanceId: seededId(this.opts.rng, 16), members: new Map() };
      this.rooms.set(meetingId, room);
    }
    const id = seededId(this.opts.rng);
    const present = [...room.members.keys()];
    for (const other of present) this.deliver(room, other, (h) => h.onPeerJoined(id));
    room.members.set(id, handlers);
    const info = { participantId: id, meetingId, instanceId: room.instanceId, present };
    const r = room;
    return {
      info,
      relay: (to, payload) => this.relay(r, id, to, payload),
      leave: () => this.leave(meetingId, r, id),
    };
  }

  private relay(room: Room, from: string, to: string | null, payload: string): void {
    if (!room.members.has(from)) return;
    if (payload.length > (this.opts.maxPayloadChars ?? LIMITS.maxRelayPayload)) {
      this.violations.push(`relay payload of ${payload.length} characters from ${from} refused`);
      return;
    }
    this.opts.tap?.(from, to, payload);
    const targets = to === null ? [...room.members.keys()].filter((id) => id !== from) : room.members.has(to) ? [to] : [];
    for (const t of targets) {
      if (this.opts.filter && !this.opts.filter(from, t, payload)) continue;
      this.deliver(room, t, (h) => h.onRelay(from, payload));
    }
  }

  private leave(meetingId: string, room: Room, id: string): void {
    if (!room.members.delete(id)) return;
    this.horizon.delete(id);
    for (const other of room.members.keys()) this.deliver(room, other, (h) => h.onPeerLeft(id));
    if (room.members.size === 0) this.rooms.delete(meetingId);
  }

  private deliver(room: Room, to: string, fn: (h: ServerHandlers) => void): void {
    const min = this.opts.minLatencyMs ?? 1;
    const max = this.opts.maxLatencyMs ?? 20;
    const at = Math.max(this.horizon.get(to) ?? 0, this.clock.now() + min + Math.floor(this.opts.rng() * (max - min + 1)));
    this.horizon.set(to, at);
    this.clock.setTimer(() => {
      const h = room.members.get(to);
      if (h) fn(h);
    }, at - this.clock.now());
  }
}

// ------------------------------------------------------------------ simulation

export interface ParticipantLog {
  /** epoch → KID → base key, from receive-keys. */
  received: Map<number, Map<bigint, Uint8Array>>;
  /** epoch → own send key, from send-key. */
  sent: Map<number, { kid: bigint; baseKey: Uint8Array }>;
  retired: Set<number>;
  roster: RosterEvent | undefined;
  state: AgentState;
  errors: ErrorEvent[];
  /** Every status event, in order (lobby, denied, removed reasons). */
  statuses: StatusEvent[];
  /** Latest lobby event (leaders only). */
  lobby: LobbyEvent | undefined;
  chats: ChatEvent[];
  /** Participants whose payloads its link does not open (now). */
  outsiders: string[];
  /** New meeting links it took (base64url secrets), oldest first. */
  links: string[];
  /** Everything the agent handed to onSecretForTest. */
  secrets: { label: string; bytes: Uint8Array }[];
  /** When each event happened (env time), for timeline checks. */
  timeline: { t: number; event: 'receive-keys' | 'send-key' | 'retire-epoch'; epoch: number }[];
}

export interface SimParticipant {
  id: string;
  /** The display name it announced. */
  name: string;
  identity: IdentityKeyPair;
  agent: MeetingKeyAgent;
  /** The link envelope it holds (tests seal insiders' forgeries with it). */
  link: LinkSeal;
  connection: HubConnection;
  log: ParticipantLog;
  /** Keys first seen before this sequence number existed before this participant joined. */
  joinedAt: number;
  /** Its first keys were checked against everything that existed before it joined. */
  firstKeysChecked?: boolean;
}

export interface SimulationOptions {
  hub: Hub;
  env: SimEnv;
  meetingId: string;
  timing?: Partial<AgentTiming>;
  maxPayloadChars?: number;
  /** The meeting link's secret everyone joins with (a fresh one if absent); join() can give one its own. */
  linkSecret?: Uint8Array;
  /**
   * A participant the leader removes leaves, as the app does (true), or stays
   * connected, as a modified client may (false, the default: tests of what a
   * removed participant can still do).
   */
  removedLeave?: boolean;
}

function heldKeys(log: ParticipantLog, onlyEpoch?: number): string[] {
  const out: string[] = [];
  for (const [epoch, k] of log.sent) if (onlyEpoch === undefined || epoch === onlyEpoch) out.push(toBase64Url(k.baseKey));
  for (const [epoch, keys] of log.received)
    if (onlyEpoch === undefined || epoch === onlyEpoch) for (const k of keys.values()) out.push(toBase64Url(k));
  return out;
}

export class Simulation {
  readonly members: SimParticipant[] = [];
  readonly departed: SimParticipant[] = [];
  /** Removed or denied, but still connected. */
  readonly excluded: SimParticipant[] = [];
  /** Every base key ever emitted (base64url) → order in which it first appeared. */
  private readonly firstSeen = new Map<string, number>();
  /** Every key any leaver held → that leaver. */
  private readonly leaverKeys = new Map<string, string>();
  private lastCode: { ids: string; code: string } | undefined;

  /** The link everyone holds unless join() says otherwise. */
  readonly linkSecret: Uint8Array;

  constructor(private readonly opts: SimulationOptions) {
    this.linkSecret = opts.linkSecret ?? randomBytes(32);
  }

  async join(opts: { name?: string; linkSecret?: Uint8Array } = {}): Promise<SimParticipant> {
    let agent: MeetingKeyAgent | undefined;
    const connection = await this.opts.hub.join(this.opts.meetingId, {
      onPeerJoined: (id) => agent?.onPeerJoined(id),
      onPeerLeft: (id) => agent?.onPeerLeft(id),
      onRelay: (from, payload) => agent?.onRelay(from, payload),
    });
    const { info } = connection;
    const identity = generateIdentity();
    const name = opts.name ?? `P${this.members.length + this.departed.length + 1}`;
    const secrets: ParticipantLog['secrets'] = [];
    const a = new MeetingKeyAgent({
      displayName: name,
      onSecretForTest: (label, bytes) => secrets.push({ label, bytes }),
      meetingId: info.meetingId,
      instanceId: info.instanceId,
      selfId: info.participantId,
      identity,
      send: (to, payload) => connection.relay(to, payload),
      link: new LinkSeal(opts.linkSecret ?? this.linkSecret, info.meetingId, info.instanceId),
      now: () => this.opts.env.now(),
      setTimer: (fn, ms) => this.opts.env.setTimer(fn, ms),
      clearTimer: (h) => this.opts.env.clearTimer(h),
      ...(this.opts.timing ? { timing: this.opts.timing } : {}),
      ...(this.opts.maxPayloadChars ? { maxPayloadChars: this.opts.maxPayloadChars } : {}),
    });
    agent = a;
    const log: ParticipantLog = {
      received: new Map(),
      sent: new Map(),
      retired: new Set(),
      roster: undefined,
      state: 'waiting-for-key',
      errors: [],
      statuses: [],
      lobby: undefined,
      chats: [],
      outsiders: [],
      links: [],
      secrets,
      timeline: [],
    };
    const env = this.opts.env;
    a.on('receive-keys', (e) => {
      log.received.set(e.epoch, new Map(e.senders.map((s) => [s.kid, s.baseKey])));
      log.timeline.push({ t: env.now(), event: 'receive-keys', epoch: e.epoch });
      for (const k of e.senders) this.saw(k.baseKey);
    });
    a.on('send-key', (e) => {
      log.sent.set(e.epoch, { kid: e.kid, baseKey: e.baseKey });
      log.timeline.push({ t: env.now(), event: 'send-key', epoch: e.epoch });
      this.saw(e.baseKey);
    });
    a.on('retire-epoch', (e) => {
      log.retired.add(e.epoch);
      log.timeline.push({ t: env.now(), event: 'retire-epoch', epoch: e.epoch });
    });
    a.on('roster', (e) => (log.roster = e));
    a.on('status', (e) => {
      log.state = e.state;
      log.statuses.push(e);
      // As the app does (client/src/e2ee/controller.ts): removed by the leader, it leaves the meeting,
      // and the server reports it gone (members waiting for it as their next leader move on).
      if (this.opts.removedLeave && e.state === 'removed' && e.reason === 'removed-by-leader') env.setTimer(() => connection.leave(), 0);
    });
    a.on('lobby', (e) => (log.lobby = e));
    a.on('chat', (e) => log.chats.push(e));
    a.on('error', (e) => log.errors.push(e));
    a.on('link', (e) => log.links.push(e.secret));
    a.on('outsider', (e) => {
      log.outsiders = log.outsiders.filter((id) => id !== e.participantId);
      if (e.outside) log.outsiders.push(e.participantId);
    });
    // The test's own copy of the link (the agent erases its copy when it stops).
    const link = new LinkSeal(opts.linkSecret ?? this.linkSecret, info.meetingId, info.instanceId);
    const p: SimParticipant = { id: info.participantId, name, identity, agent: a, link, connection, log, joinedAt: this.firstSeen.size };
    this.members.push(p);
    a.start(info.present);
    return p;
  }

  leave(p: SimParticipant): void {
    const i = this.members.indexOf(p);
    if (i < 0) throw new Error(`${p.id} is not in the meeting`);
    this.members.splice(i, 1);
    p.connection.leave();
    p.agent.stop();
    for (const k of heldKeys(p.log)) this.leaverKeys.set(k, p.id);
    this.departed.push(p);
  }

  /**
   * Stops counting a participant that is still connected as a member (it was
   * removed or denied). check() then treats its keys like a leaver's: it must
   * hold none of the current epoch.
   */
  exclude(p: SimParticipant): void {
    const i = this.members.indexOf(p);
    if (i < 0) throw new Error(`${p.id} is not in the meeting`);
    this.members.splice(i, 1);
    for (const k of heldKeys(p.log)) this.leaverKeys.set(k, p.id);
    this.excluded.push(p);
  }

  private saw(key: Uint8Array): void {
    const k = toBase64Url(key);
    if (!this.firstSeen.has(k)) this.firstSeen.set(k, this.firstSeen.size);
  }

  /** The member every verified roster names as leader, if they agree. */
  leader(): SimParticipant | undefined {
    const id = this.members[0]?.log.roster?.members.find((m) => m.isLeader)?.participantId;
    return this.members.find((m) => m.id === id);
  }

  async settle(): Promise<void> {
    await this.opts.env.settle(async () => {
      for (const m of this.members) await m.agent.idle();
    });
  }

  /** Invariants once nothing is in flight; returns human-readable violations. */
  check(): string[] {
    const problems: string[] = [];
    const ids = this.members.map((m) => m.id);
    const first = this.members[0];
    if (!first) return problems;
    const epoch = first.agent.currentEpoch;

    for (const m of this.members) {
      if (m.log.state !== 'ok') problems.push(`${m.id} is ${m.log.state}`);
      if (m.agent.currentEpoch !== epoch) problems.push(`${m.id} sends with epoch ${m.agent.currentEpoch}, ${first.id} with ${epoch}`);
      const rosterIds = m.log.roster?.members.map((x) => x.participantId) ?? [];
      if (m.log.roster?.epoch !== epoch || rosterIds.join() !== ids.join()) {
        problems.push(`${m.id} shows roster ${m.log.roster?.epoch}: [${rosterIds.join()}], present: [${ids.join()}]`);
      }
      if (m.log.roster?.securityCode !== first.log.roster?.securityCode) problems.push(`${m.id} security code differs from ${first.id}`);
      const shownNames = m.log.roster?.members.map((x) => x.name).join() ?? '';
      const chosenNames = this.members.map((x) => x.name).join();
      if (shownNames !== chosenNames) problems.push(`${m.id} shows names [${shownNames}], chosen: [${chosenNames}]`);
      if (m.log.errors.length > 0) problems.push(`${m.id} reported ${m.log.errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`);
      if (!m.firstKeysChecked) {
        // Later epochs are newer still: checking the first one a newcomer got is enough.
        const firstEpoch = Math.min(...m.log.received.keys(), ...m.log.sent.keys());
        if (heldKeys(m.log, firstEpoch).some((k) => (this.firstSeen.get(k) ?? Infinity) < m.joinedAt))
          problems.push(`${m.id} holds a key from before it joined`);
        m.firstKeysChecked = true;
      }
      if (m.log.received.size + m.log.sent.size > 0 && [...m.log.received.keys()].some((e) => e < epoch && !m.log.retired.has(e))) {
        problems.push(`${m.id} still holds an epoch before ${epoch}`);
      }
    }

    // Everyone holds the same key for each sender, and no two senders share one.
    const seen = new Set<string>();
    for (const sender of this.members) {
      const own = sender.log.sent.get(epoch);
      if (!own) {
        problems.push(`${sender.id} has no send key for epoch ${epoch}`);
        continue;
      }
      const b64 = toBase64Url(own.baseKey);
      if (seen.has(b64)) problems.push(`two senders share a base key in epoch ${epoch}`);
      seen.add(b64);
      for (const receiver of this.members) {
        if (receiver === sender) continue;
        const got = receiver.log.received.get(epoch)?.get(own.kid);
        if (!got || toBase64Url(got) !== b64) problems.push(`${receiver.id} lacks ${sender.id}'s key for epoch ${epoch}`);
      }
    }

    // Removed or denied participants that stay connected hold nothing of this epoch or later.
    for (const x of this.excluded) {
      const later = [...x.log.received.keys(), ...x.log.sent.keys()].filter((e) => e >= epoch);
      if (later.length > 0 || x.log.state === 'ok')
        problems.push(`excluded ${x.id} holds keys of epoch ${later.join()} (state ${x.log.state})`);
      for (const k of heldKeys(x.log)) this.leaverKeys.set(k, x.id);
    }

    for (const m of this.members) {
      const leaver = this.leaverKeys.get(toBase64Url(m.log.sent.get(epoch)?.baseKey ?? new Uint8Array()));
      if (leaver) problems.push(`leaver ${leaver} holds ${m.id}'s key of the current epoch ${epoch}`);
    }

    const code = first.log.roster?.securityCode ?? '';
    const sortedIds = [...ids].sort().join();
    if (this.lastCode && this.lastCode.ids !== sortedIds && this.lastCode.code === code)
      problems.push('security code did not change with membership');
    this.lastCode = { ids: sortedIds, code };
    return problems;
  }
}
