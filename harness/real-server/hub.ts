// RealServerHub: the sim's Hub on top of real signaling clients (TestClient).
// Server notices go to the agent, the agent's sends become `relay` requests. It
// counts what the server relayed (sent and delivered, messages and characters),
// checks that every delivered payload is one its sender sent, and can keep the
// sent payloads for an audit (wire-audit.ts).

import type { ServerNotice } from '../../shared/protocol/signaling.ts';
import type { Hub, HubConnection, JoinInfo, ServerHandlers } from '../sim.ts';
import { TestClient } from '../ws-client.ts';
import type { RealServerEnv } from './env.ts';

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
    const state: ConnectionState = {
      meetingId,
      id: '',
      open: true,
      held: null,
      dispatch: () => undefined,
      inflight: 0,
      sendTimes: [],
      counters: { messages: 0, maxPerSecond: 0 },
    };
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
      return client.join(meetingId);
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

    const info: JoinInfo = {
      participantId: result.participantId,
      meetingId: result.meetingId,
      instanceId: result.instanceId,
      present: result.peers.map((p) => p.participantId),
    };
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
    const timedOut = await Promise.race([
      announced.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
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
