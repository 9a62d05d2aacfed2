// A meeting over the in-memory hub for agent-level tests: the server's view of
// the traffic, a switchable filter (a server dropping messages), and helpers
// to pull a relayed message out of that view for tampering or replay.

import { decodeMessage, encodeMessage, type WireMessage } from '../../shared/e2ee/wire.ts';
import { LinkSeal } from '../../shared/e2ee/link.ts';
import type { VerifiedRoster } from '../../shared/e2ee/roster.ts';
import { WireRosters } from '../../harness/wire-rosters.ts';
import { FakeHub, seededRandom, Simulation, VirtualClock, type SimParticipant } from '../../harness/sim.ts';

export interface Relayed {
  from: string;
  to: string | null;
  /** As relayed: sealed with the meeting link. */
  payload: string;
  /** Opened with the link ('' if it was not sealed with it). */
  plain: string;
}

export interface Harness {
  clock: VirtualClock;
  hub: FakeHub;
  sim: Simulation;
  /** Relay payloads as the server saw them, in order. */
  traffic: Relayed[];
  /**
   * Return true to drop this copy; replace at will. It gets the payload opened
   * with the link: the tests play a server that knows which message is which
   * (the worst case; the real one sees only sealed payloads and their sizes).
   */
  drop: (from: string, to: string, plain: string) => boolean;
}

export function harness(opts: { seed?: number; meetingId?: string } = {}): Harness {
  const clock = new VirtualClock();
  const traffic: Relayed[] = [];
  const h: Partial<Harness> = { drop: () => false };
  const hub = new FakeHub(clock, {
    rng: seededRandom(opts.seed ?? 7),
    tap: (from, to, payload) => traffic.push({ from, to, payload, plain: opened(h as Harness, from, payload) ?? '' }),
    filter: (from, to, payload) => !(h as Harness).drop(from, to, opened(h as Harness, from, payload) ?? ''),
  });
  const sim = new Simulation({ hub, env: clock, meetingId: opts.meetingId ?? 'harness' });
  return Object.assign(h, { clock, hub, sim, traffic }) as Harness;
}

/** Joins `names.length` participants one after the other; the first leads. */
export async function meeting(h: Harness, names: readonly string[]): Promise<SimParticipant[]> {
  const out: SimParticipant[] = [];
  for (const name of names) {
    out.push(await h.sim.join({ name }));
    await h.sim.settle();
  }
  return out;
}

/** Lets virtual time pass (timers fire), then settles. */
export async function wait(h: Harness, ms: number): Promise<void> {
  h.clock.setTimer(() => {}, ms);
  await h.sim.settle();
}

/** Lets exactly `ms` of virtual time pass (unlike wait, timers due later stay pending). */
export async function advance(h: Harness, ms: number): Promise<void> {
  await h.clock.advance(ms, async () => {
    for (const m of h.sim.members) await m.agent.idle();
  });
}

/**
 * The link envelope of this meeting, as an insider who holds the link (a
 * participant, not the server) seals and opens it. Agent-level attack tests
 * play that insider: the checks behind the envelope are the defence against
 * people who hold the link.
 */
export function insiderLink(h: Harness): LinkSeal {
  const someone = h.sim.members[0] ?? h.sim.departed[0];
  if (!someone) throw new Error('no participant yet: the instance ID is unknown');
  return new LinkSeal(h.sim.linkSecret, someone.connection.info.meetingId, someone.connection.info.instanceId);
}

/** A relayed payload opened as an insider would (undefined if it was not sealed with the link). */
export function opened(h: Harness, from: string, payload: string): string | undefined {
  const o = insiderLink(h).open(from, payload);
  return o.ok ? o.value : undefined;
}

/** The newest relayed message of a type (optionally from one sender), decoded. */
export function lastRelayed<T extends WireMessage['type']>(
  h: Harness,
  type: T,
  from?: string,
  /** Only messages addressed to this participant, or broadcast. */
  to?: string,
): { relayed: Relayed; message: Extract<WireMessage, { type: T }> } {
  for (let i = h.traffic.length - 1; i >= 0; i--) {
    const t = h.traffic[i];
    if (!t || (from !== undefined && t.from !== from) || !t.plain.includes(`"t":"${type}"`)) continue;
    if (to !== undefined && t.to !== null && t.to !== to) continue;
    const d = decodeMessage(t.plain);
    if (d.ok && d.value.type === type) return { relayed: t, message: d.value as Extract<WireMessage, { type: T }> };
  }
  throw new Error(`no ${type} relayed${from ? ` from ${from}` : ''}`);
}

/** The newest roster `from` signed, as the wire shows it: sent in full, or as a delta rebuilt from the roster it follows. */
export function lastRoster(h: Harness, from: string): VerifiedRoster {
  const wire = new WireRosters();
  let last: VerifiedRoster | undefined;
  for (const t of h.traffic) {
    if (!/"t":"(roster|delta)"/.test(t.plain)) continue;
    const d = decodeMessage(t.plain);
    const r = d.ok ? wire.add(d.value) : undefined;
    if (r && t.from === from) last = r;
  }
  if (!last) throw new Error(`no roster relayed from ${from}`);
  return last;
}

/**
 * Delivers a message to one participant as if the server relayed it from
 * `from`, sealed with the meeting link (an insider's forgery), or as it is
 * with `{ raw: true }` (the server's own, without the link).
 */
export function inject(p: SimParticipant, from: string, m: WireMessage | string, opts: { raw?: boolean } = {}): void {
  const payload = typeof m === 'string' ? m : encodeMessage(m);
  p.agent.onRelay(from, opts.raw ? payload : p.link.seal(from, payload));
}

export const codes = (p: SimParticipant): string[] => p.log.errors.map((e) => e.code);

export const rosterIds = (p: SimParticipant): string[] => p.log.roster?.members.map((m) => m.participantId) ?? [];

/** Every epoch this participant ever held a key for. */
export const keyedEpochs = (p: SimParticipant): number[] =>
  [...new Set([...p.log.received.keys(), ...p.log.sent.keys()])].sort((a, b) => a - b);
