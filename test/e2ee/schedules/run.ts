// One seeded adversarial schedule: 3–6 honest members meet over a sound network,
// then 10–30 random steps (faults on or off, joins, leaves, removals, replays,
// and messages the server forges with its own identity), each followed by up to
// 1.2 s of virtual time and the per-step invariants; then the network heals and
// I3 is checked 3 s later. Returns the steps taken and every violation seen.

import { Simulation, VirtualClock, seededRandom, type SimParticipant } from '../../../harness/sim.ts';
import type { IdentityKeyPair } from '../../../shared/e2ee/identity.ts';
import { encodeMessage } from '../../../shared/e2ee/wire.ts';
import { LinkSeal } from '../../../shared/e2ee/link.ts';
import { Forger, SMALL_ORDER_KEYS } from './forge.ts';
import { checkConverged, checkStatus, checkStopBound, convergeMs, Watched, WireView } from './invariants.ts';
import { AdversarialHub } from './network.ts';

export interface ScheduleResult {
  seed: number;
  steps: string[];
  problems: string[];
}

const MAX_MEMBERS = 8;

export async function runSchedule(seed: number, serverIdentity: IdentityKeyPair): Promise<ScheduleResult> {
  const rng = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rng() * xs.length)];
  const clock = new VirtualClock();
  const hub = new AdversarialHub(clock, rng);
  const sim = new Simulation({ hub, env: clock, meetingId: 'schedule', removedLeave: true });
  const forger = new Forger(serverIdentity, rng);
  // Half of the forgeries come from an insider who holds the meeting link (sealed with it, so they
  // reach the checks behind the envelope); the rest from the server alone (refused unread).
  const insider = new LinkSeal(sim.linkSecret, 'schedule', 'schedule-instance');
  const forged = (from: string, payload: string): string => (rng() < 0.5 ? insider.seal(from, payload) : payload);
  const wire = new WireView(hub.wire);
  const watched: Watched[] = [];
  const own: string[] = [];
  const steps: string[] = [];
  const problems: string[] = [];
  const quiesce = async (): Promise<void> => {
    for (const m of sim.members) await m.agent.idle();
    for (const m of sim.excluded) await m.agent.idle();
  };

  const join = async (): Promise<SimParticipant> => {
    const p = await sim.join();
    watched.push(new Watched(p, () => clock.now()));
    return p;
  };
  const leader = (): SimParticipant | undefined => sim.members.find((m) => m.agent.isLeader);
  const newestEpoch = (): number => Math.max(0, ...sim.members.map((m) => m.agent.currentEpoch));
  const check = (): void => {
    problems.push(...wire.check());
    for (const w of watched) problems.push(...checkStopBound(w, clock.now()), ...(sim.members.includes(w.p) ? checkStatus(w) : []));
  };

  const initial = 3 + Math.floor(rng() * 2);
  for (let i = 0; i < initial; i++) await join();
  await sim.settle();
  steps.push(`${initial} members meet`);
  check();

  const count = 10 + Math.floor(rng() * 7);
  for (let s = 0; s < count && problems.length === 0; s++) {
    const step = await randomStep();
    const wait = Math.floor(rng() * 1200);
    steps.push(`t=${clock.now()} ${step}; wait ${wait} ms`);
    await clock.advance(wait, quiesce);
    check();
  }
  if (problems.length === 0) {
    // Heal: the server stops every fault and forgery (copies still held back are lost). In-flight
    // changes finish within a batch, a commit timeout and a round trip, so 3 s from here is the bound.
    hub.heal();
    steps.push(`t=${clock.now()} heal; wait ${convergeMs()} ms`);
    await clock.advance(convergeMs(), quiesce);
    check();
    problems.push(...checkConverged(sim.members));
  }
  if (problems.length > 0) {
    steps.push(...describe(sim.members));
    // Test aid (E2EE_SCHEDULE_VERBOSE=1): each leader's state, to see why a change did not finish.
    if (process.env.E2EE_SCHEDULE_VERBOSE) {
      steps.push(...describe(sim.excluded).map((line) => `(excluded) ${line}`));
      for (const m of sim.members) {
        const lead = (m.agent as unknown as { lead: { lead: unknown } }).lead.lead;
        const json = JSON.stringify(lead, (_k, v: unknown) =>
          v instanceof Set ? [...v] : v instanceof Map ? [...v.keys()] : v instanceof Uint8Array ? '<bytes>' : v,
        );
        if (lead) steps.push(`${m.id} leader state: ${json}`);
        const a = m.agent as unknown as {
          presence: { joinOrder: string[]; departed: Set<string>; outsiders: Set<string> };
          heard: Map<string, number>;
          epochs: { head: { roster: { epoch: number; unacked: string[]; members: { participantId: string }[] } } | null; keyEpoch: number };
          orphanTimer: unknown;
        };
        const p = a.presence;
        steps.push(
          `${m.id} join order ${p.joinOrder.map((id) => `${id}${p.departed.has(id) ? '(gone)' : ''}${p.outsiders.has(id) ? '(outsider)' : ''}${a.heard.has(id) ? `(heard ${a.heard.get(id)})` : ''}`).join(' ')}; head ${a.epochs.head ? `${a.epochs.head.roster.epoch} [${a.epochs.head.roster.members.map((x) => x.participantId).join()}] unacked [${a.epochs.head.roster.unacked.join()}]` : 'none'}, key ${a.epochs.keyEpoch}, orphan timer ${a.orphanTimer !== null}`,
        );
      }
    }
  }

  return { seed, steps, problems };

  async function randomStep(): Promise<string> {
    const r = rng();
    const honest = sim.members;
    const lead = leader();
    const announcements = honest.map((m) => m.agent.ownAnnouncement);
    if (r < 0.15) {
      if (rng() < 0.3) {
        hub.faults = null;
        return 'faults off';
      }
      hub.faults = { drop: rng() * 0.5, duplicate: rng() * 0.3, delay: rng() * 0.3, maxDelayMs: 3000 };
      const f = hub.faults;
      return `faults drop ${f.drop.toFixed(2)} dup ${f.duplicate.toFixed(2)} delay ${f.delay.toFixed(2)}`;
    }
    if (r < 0.27 && honest.length < MAX_MEMBERS) return `join ${(await join()).id}`;
    if (r < 0.37 && honest.length > 2) {
      const p = pick(honest.filter((m) => m !== lead)) ?? honest[0]!;
      sim.leave(p);
      return `leave ${p.id}`;
    }
    if (r < 0.42 && lead && honest.length > 2) {
      sim.leave(lead);
      return `leader ${lead.id} leaves`;
    }
    if (r < 0.5 && lead) {
      const target = pick(honest.filter((m) => m !== lead));
      if (target && lead.agent.remove(target.id).ok) {
        sim.exclude(target);
        return `${lead.id} removes ${target.id}`;
      }
      return 'remove refused';
    }
    if (r < 0.6 && hub.wire.length > 0) {
      const old = hub.wire[Math.floor(rng() * hub.wire.length)]!;
      const to = rng() < 0.5 ? old.to : (pick(honest)?.id ?? null);
      hub.inject(old.from, to, old.payload);
      return `replay #${hub.wire.indexOf(old)} from ${old.from} to ${to ?? 'all'}`;
    }
    if (r < 0.7 && own.length < 3) {
      const id = hub.addOwnParticipant();
      own.push(id);
      const lowOrder = rng() < 0.5;
      const a = forger.announce(id, lowOrder ? pick(SMALL_ORDER_KEYS) : undefined);
      hub.inject(id, null, forged(id, encodeMessage({ type: 'announce', announcement: a })));
      return `server joins its own ${id}${lowOrder ? ' with a small-order X25519 key' : ''}`;
    }
    if (r < 0.75 && own.length > 0) {
      const id = own.splice(Math.floor(rng() * own.length), 1)[0]!;
      hub.depart(id);
      return `server's ${id} leaves`;
    }
    const from = pick(own) ?? pick(honest)?.id ?? 'nobody';
    const epoch = newestEpoch() + (rng() < 0.5 ? 1 : 0);
    if (r < 0.82) {
      const padding = rng() < 0.2 ? 1025 : 0;
      hub.inject(from, null, forged(from, forger.roster(from, announcements, epoch, padding)));
      return `forged roster of epoch ${epoch} led by ${from}${padding ? ` with ${padding} made-up members` : ''}`;
    }
    const head = wire.newest;
    if (r < 0.9 && head) {
      const kind = pick(['signed', 'mismatch', 'stray'] as const)!;
      hub.inject(from, null, forged(from, forger.delta(from, head, epoch, kind)));
      return `forged delta (${kind}) of epoch ${epoch} after roster ${head.roster.epoch} from ${from}`;
    }
    // A key message for one member alone, as leaders send them now, or one for everyone.
    const only = rng() < 0.5 ? pick(honest)?.id : undefined;
    hub.inject(from, only ?? null, forged(from, forger.keys(from, announcements, epoch, only)));
    return `forged keys of epoch ${epoch} from ${from}${only ? ` for ${only} alone` : ''}`;
  }
}

/** Where each honest member ended up, and what it rejected: printed with a failing schedule. */
function describe(members: readonly SimParticipant[]): string[] {
  return members.map((m) => {
    const roster = m.log.roster ? `roster ${m.log.roster.epoch} [${m.log.roster.members.map((x) => x.participantId).join()}]` : 'no roster';
    const errors = [
      ...new Set(
        m.log.errors.map((e) => `${e.code}${e.from ? ` from ${e.from}` : ''}${process.env.E2EE_SCHEDULE_VERBOSE ? ` (${e.message})` : ''}`),
      ),
    ].join(', ');
    return `${m.id}: ${m.log.state}, epoch ${m.agent.currentEpoch}, ${roster}${m.agent.isLeader ? ', leads' : ''}; errors: ${errors || 'none'}`;
  });
}
