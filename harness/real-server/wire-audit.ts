// WireAudit: reads the relayed payloads like the server could (rosters, key
// entries, commits), for "no key bytes on the wire" and "no key message ever
// addresses a leaver after it left / a newcomer before it joined".

import { decodeMessage } from '../../shared/e2ee/wire.ts';
import { LIMITS as E2EE_LIMITS } from '../../shared/e2ee/constants.ts';
import { toBase64Url } from '../../shared/e2ee/encoding.ts';
import { Reassembler } from '../../shared/e2ee/fragment.ts';
import type { RelaySeal } from '../../shared/e2ee/link.ts';
import type { Simulation } from '../sim.ts';
import type { SentPayload } from './hub.ts';

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

  /**
   * `link` opens the meeting link's envelope: this audit reads the payloads as
   * someone holding the link would (the server, without it, reads nothing).
   */
  constructor(private readonly link: RelaySeal) {}

  add(p: SentPayload): void {
    for (const t of p.payload.match(/[A-Za-z0-9_-]{43}/g) ?? []) this.tokens.add(t);
    const opened = this.link.open(p.from, p.payload);
    if (!opened.ok) return void this.undecodable.push(`${p.from}: ${opened.error.code}`);
    for (const t of opened.value.match(/[A-Za-z0-9_-]{43}/g) ?? []) this.tokens.add(t);
    let decoded = decodeMessage(opened.value, E2EE_LIMITS.maxRelayPayload);
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
        if (until !== undefined && epoch <= until)
          out.push(`${what} of epoch ${epoch} names ${id}, who joined when epoch ${until} was current`);
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
    for (const [epoch, keys] of p.log.received)
      for (const k of keys.values()) if (tokens.has(toBase64Url(k))) leaks.push(`${p.id}: epoch ${epoch} key`);
    for (const [epoch, k] of p.log.sent) if (tokens.has(toBase64Url(k.baseKey))) leaks.push(`${p.id}: own epoch ${epoch} key`);
  }
  return leaks;
}
