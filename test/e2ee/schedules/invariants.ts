// The invariants an adversarial schedule checks after every step (I1, I2, I4)
// and after the network heals (I3). See adversarial-schedules.test.ts.

import { WireRosters } from '../../../harness/wire-rosters.ts';
import type { SimParticipant } from '../../../harness/sim.ts';
import { decodeMessage } from '../../../shared/e2ee/wire.ts';
import type { VerifiedRoster } from '../../../shared/e2ee/roster.ts';
import type { Relayed } from './network.ts';

/** I1: nobody a member knows to be gone reads what it sends this long after it learned so. */
export const STOP_BOUND_MS = 2000;
/** I3: after the heal, every honest member agrees this soon. */
export const CONVERGE_MS = 3000;
/**
 * Test aid (E2EE_SCHEDULE_CONVERGE_MS=n): check I3 n ms after the heal instead, to tell a late
 * convergence from one that never comes. npm test always uses CONVERGE_MS.
 */
export const convergeMs = (): number => Number(process.env.E2EE_SCHEDULE_CONVERGE_MS ?? CONVERGE_MS);

interface Window {
  epoch: number;
  /** Who holds the key it sends with: the roster it shows with it (two chains may number an epoch alike). */
  holders: Set<string>;
  from: number;
  to: number | null;
}

/** One honest participant: when it sent under which epoch, and when it learned who left. */
export class Watched {
  readonly windows: Window[] = [];
  /** Departed participant → when this one first learned of it (a leave notice or a roster without it). */
  readonly learned = new Map<string, number>();

  constructor(
    readonly p: SimParticipant,
    private readonly now: () => number,
  ) {
    const { agent } = p;
    agent.on('send-key', (e) => {
      this.close();
      this.windows.push({ epoch: e.epoch, holders: new Set(), from: now(), to: null });
    });
    agent.on('stop-sending', () => this.close());
    agent.on('status', (e) => {
      if (e.state === 'removed' || e.state === 'denied' || e.state === 'stopped') this.close();
    });
    let shown: string[] = [];
    // Leaders this member passed over (§5) and the server never reported gone: if it takes a roster
    // that one leads again (a lone leader yields, §7.5a), it no longer considers it gone.
    const passedOver = new Set<string>();
    const left = new Set<string>();
    agent.on('error', (e) => {
      if (e.code === 'LEADER_PASSED_OVER' && e.from && !left.has(e.from)) passedOver.add(e.from);
    });
    agent.on('roster', (e) => {
      const ids = e.members.map((m) => m.participantId);
      const leader = ids[0];
      if (leader && passedOver.has(leader)) {
        passedOver.delete(leader);
        this.learned.delete(leader);
      }
      // Emitted right after the send key of the same epoch.
      const open = this.open;
      if (open?.epoch === e.epoch) for (const id of ids) open.holders.add(id);
      for (const id of shown) if (!ids.includes(id)) this.learn(id);
      shown = ids;
    });
    const onPeerLeft = agent.onPeerLeft.bind(agent);
    agent.onPeerLeft = (id) => {
      left.add(id);
      passedOver.delete(id);
      this.learn(id);
      onPeerLeft(id);
    };
  }

  get open(): Window | undefined {
    const last = this.windows.at(-1);
    return last && last.to === null ? last : undefined;
  }

  private learn(id: string): void {
    if (!this.learned.has(id)) this.learned.set(id, this.now());
  }

  private close(): void {
    const w = this.open;
    if (w) w.to = this.now();
  }
}

/** Reads the honest wire: the rosters each leader signed, and checks its key messages against them (I2). */
export class WireView {
  private read = 0;
  /** `${leader}/${epoch}` → the members that leader signed for that epoch. */
  private readonly rosters = new Map<string, Set<string>>();
  private readonly pendingKeys: { from: string; epoch: number; to: string[] }[] = [];
  private readonly wireRosters = new WireRosters();
  /** The last roster read off the wire (full or rebuilt): what a forged delta follows. */
  newest: VerifiedRoster | undefined;

  constructor(private readonly wire: readonly Relayed[]) {}

  /** I2: every key message entry is sealed to a member of the roster its sender signed for that epoch. */
  check(): string[] {
    for (; this.read < this.wire.length; this.read++) {
      const { from, payload } = this.wire[this.read]!;
      if (!/"t":"(roster|delta|keys)"/.test(payload)) continue;
      const d = decodeMessage(payload);
      if (!d.ok) continue;
      const m = d.value;
      // A delta counts as the full roster it rebuilds to (from the roster it follows, seen on the wire).
      const rebuilt = this.wireRosters.add(m);
      const roster = rebuilt?.roster;
      if (rebuilt) this.newest = rebuilt;
      if (roster) {
        const ids = roster.members.map((x) => x.participantId);
        const key = `${from}/${roster.epoch}`;
        this.rosters.set(key, new Set([...(this.rosters.get(key) ?? []), ...ids]));
      } else if (m.type === 'keys') {
        this.pendingKeys.push({ from, epoch: m.keys.epoch, to: m.keys.entries.map((e) => e.to) });
      }
    }
    const problems: string[] = [];
    for (const k of this.pendingKeys.splice(0)) {
      const roster = this.rosters.get(`${k.from}/${k.epoch}`);
      if (!roster) problems.push(`I2: ${k.from} sent keys of epoch ${k.epoch} without a roster of that epoch on the wire`);
      else for (const to of k.to) if (!roster.has(to)) problems.push(`I2: ${k.from} sealed epoch ${k.epoch} to ${to}, outside its roster`);
    }
    return problems;
  }
}

/** I1 for one participant, at time `now` (an open window counts up to now). */
export function checkStopBound(w: Watched, now: number): string[] {
  const problems: string[] = [];
  for (const [gone, learnedAt] of w.learned) {
    for (const win of w.windows) {
      if (!win.holders.has(gone)) continue;
      const end = win.to ?? now;
      const start = Math.max(learnedAt, win.from);
      if (end - start > STOP_BOUND_MS) {
        problems.push(
          `I1: ${w.p.id} learned at ${learnedAt} ms that ${gone} is gone, still sent under epoch ${win.epoch} ` +
            `(which ${gone} holds) from ${win.from} to ${win.to ?? `now (${now})`} ms`,
        );
      }
    }
  }
  return problems;
}

/** I4: 'ok' only while sending under the epoch the agent says it sends with, whose key it holds. */
export function checkStatus(w: Watched): string[] {
  const { p } = w;
  if (p.log.state !== 'ok') return [];
  const open = w.open;
  const epoch = p.agent.currentEpoch;
  if (!open) return [`I4: ${p.id} says ok but has no send key`];
  if (open.epoch !== epoch) return [`I4: ${p.id} says ok, sends under ${open.epoch} but its current epoch is ${epoch}`];
  if (!p.log.sent.has(epoch) || p.log.retired.has(epoch)) return [`I4: ${p.id} says ok under epoch ${epoch} it holds no key for`];
  return [];
}

/** I3: every honest member is ok, under one epoch, with one security code. */
export function checkConverged(members: readonly SimParticipant[]): string[] {
  const problems: string[] = [];
  const first = members[0];
  if (!first) return problems;
  for (const m of members) {
    if (m.log.state !== 'ok') problems.push(`I3: ${m.id} is ${m.log.state}`);
    if (m.agent.currentEpoch !== first.agent.currentEpoch)
      problems.push(`I3: ${m.id} sends under epoch ${m.agent.currentEpoch}, ${first.id} under ${first.agent.currentEpoch}`);
    if (m.log.roster?.securityCode !== first.log.roster?.securityCode)
      problems.push(`I3: ${m.id}'s security code differs from ${first.id}'s`);
  }
  return problems;
}
