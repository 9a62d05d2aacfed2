// Shared plumbing for the test-only attacks (harness/adversary/*.ts): what an
// attack is, its counters, and small helpers to look inside and rewrite the
// E2EE relay payloads that an honest server treats as opaque strings.
//
// Nothing here is used unless the server runs with `--test-mode --attack NAME`.

import type { Logger } from '../../server/log.ts';
import type { Participant, Room, RoomObserver } from '../../server/room.ts';
import type { OutgoingInterceptor, RelayInterceptor } from '../../server/connection.ts';

/** One relayed message as the interceptor hands it back to the connection (server/connection.ts). */
export interface Delivery {
  to: string | null;
  payload: string;
  /** Relay it as coming from this participant ID (the server forges `from`). */
  as?: string;
}

export interface AttackContext {
  log: Logger;
  /**
   * Play an insider who holds the meeting links (insider.ts): the attack then
   * sees and forges payloads inside the link envelope. Absent: the server
   * alone, which holds no link.
   */
  insider?: (meetingId: string) => string | undefined;
}

/** Evidence that the attack did something: tests assert on these. */
export class AttackStats {
  readonly counters: Record<string, number> = {};
  /** Per recipient participant ID: what it was sent, by kind. */
  readonly perRecipient: Record<string, Record<string, number>> = {};
  /** Short human-readable notes (bounded), for test output. */
  readonly events: string[] = [];
  /** Roles the attack picked, e.g. `victim:<meetingId>` → participant ID. */
  readonly roles: Record<string, string> = {};

  constructor(
    private readonly name: string,
    private readonly log: Logger,
  ) {}

  bump(counter: string, n = 1): void {
    this.counters[counter] = (this.counters[counter] ?? 0) + n;
  }

  to(recipient: string, kind: string, n = 1): void {
    const r = (this.perRecipient[recipient] ??= {});
    r[kind] = (r[kind] ?? 0) + n;
  }

  count(counter: string): number {
    return this.counters[counter] ?? 0;
  }

  note(text: string): void {
    this.events.push(text);
    if (this.events.length > 200) this.events.shift();
    this.log.warn(`attack ${this.name}: ${text}`);
  }
}

/** What an attack module builds: hooks into the server plus its evidence. */
export interface Attack {
  relayInterceptor?: RelayInterceptor;
  /** Rewrites or withholds what one participant is told (join results, notices). */
  outgoingInterceptor?: OutgoingInterceptor;
  roomObserver?: RoomObserver;
  stats: AttackStats;
  /** Stops timers (server shutdown). */
  close?(): void;
}

export type AttackFactory = (ctx: AttackContext, stats: AttackStats) => Attack | Promise<Attack>;

// ------------------------------------------------------------------ payloads

export type Json = { [key: string]: unknown };

/** The relay payload as JSON, or undefined if it is not a JSON object. */
export function peek(payload: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(payload);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** The E2EE message type (`announce`, `roster`, `keys`, `ack`, `commit`, `frag`, ...). */
export function typeOf(msg: Json | undefined): string | undefined {
  const t = msg?.['t'];
  return typeof t === 'string' ? t : undefined;
}

export function epochOf(msg: Json | undefined): number | undefined {
  const e = msg?.['epoch'];
  return typeof e === 'number' ? e : undefined;
}

export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Deep copy of a JSON payload object. */
export function clone(msg: Json): Json {
  return JSON.parse(JSON.stringify(msg)) as Json;
}

// ------------------------------------------------------------------ rooms

/** Participant IDs in the server's (join) order. */
export function ids(room: Room): string[] {
  return [...room.participants.keys()];
}

/** Who an honest server would deliver this relay to. */
export function recipients(room: Room, from: Participant, to: string | null): string[] {
  if (to !== null) return room.participants.has(to) ? [to] : [];
  return ids(room).filter((id) => id !== from.id);
}

/** Per-room state for an attack, created on first use and dropped with the room. */
export class RoomState<S> {
  private readonly states = new WeakMap<Room, S>();
  constructor(private readonly make: (room: Room) => S) {}
  get(room: Room): S {
    let s = this.states.get(room);
    if (!s) {
      s = this.make(room);
      this.states.set(room, s);
    }
    return s;
  }
  peek(room: Room): S | undefined {
    return this.states.get(room);
  }
}
