// The server of an adversarial schedule: a Hub (harness/sim.ts) that, while
// faults are on, drops, duplicates, delays and reorders each relayed copy, can
// replay anything it relayed before, and runs participants of its own (IDs it
// reports present, with no client behind them) to inject messages from.
// heal() ends all of that: what a fault withheld is delivered then, and from
// then on every relay arrives once, in order, within 1–20 ms, like FakeHub.

import type { Hub, HubConnection, ServerHandlers, VirtualClock } from '../../../harness/sim.ts';

export interface Faults {
  drop: number;
  duplicate: number;
  /** Probability that a copy is held back by up to maxDelayMs (so later copies overtake it). */
  delay: number;
  maxDelayMs: number;
}

export interface Relayed {
  from: string;
  to: string | null;
  payload: string;
}

const MEETING = { meetingId: 'schedule', instanceId: 'schedule-instance' };

export class AdversarialHub implements Hub {
  private readonly handlers = new Map<string, ServerHandlers>();
  /** Everyone the server reports present, in join order (its own participants too). */
  private readonly present: string[] = [];
  private readonly horizon = new Map<string, number>();
  /** Copies dropped or delayed by a fault and not yet delivered, in the order they were sent. */
  private readonly held = new Map<number, { to: string; fn: (h: ServerHandlers) => void }>();
  private heldSeq = 0;
  private nextId = 0;
  faults: Faults | null = null;
  /** Every relay an honest client sent, in order (what the server saw). */
  readonly wire: Relayed[] = [];

  constructor(
    private readonly clock: VirtualClock,
    private readonly rng: () => number,
  ) {}

  get healed(): boolean {
    return this.faults === null;
  }

  join(_meetingId: string, handlers: ServerHandlers): Promise<HubConnection> {
    const id = this.newId();
    const present = [...this.present];
    this.admit(id);
    this.handlers.set(id, handlers);
    return Promise.resolve({
      info: { participantId: id, ...MEETING, present },
      relay: (to, payload) => this.relay(id, to, payload),
      leave: () => this.depart(id),
    });
  }

  /** A participant the server runs itself: reported present to everyone, no client behind it. */
  addOwnParticipant(): string {
    const id = this.newId();
    this.admit(id);
    return id;
  }

  /** The server reports `id` gone (a client leaving, or one of its own). */
  depart(id: string): void {
    const i = this.present.indexOf(id);
    if (i < 0) return;
    this.present.splice(i, 1);
    this.handlers.delete(id);
    for (const other of this.present) this.deliver(other, (h) => h.onPeerLeft(id), true);
  }

  /** Delivers `payload` as if `from` relayed it, to one client or to all but `from`. */
  inject(from: string, to: string | null, payload: string): void {
    for (const t of this.targets(from, to)) this.deliver(t, (h) => h.onRelay(from, payload), false);
  }

  /**
   * Faults end. Every copy a fault withheld (dropped or still delayed) is delivered now, in
   * the order it was sent: before the heal a drop is only a delay the adversary chose (the
   * relay is reliable, so a protocol need not resend), and the copies' order stays adversarial.
   */
  heal(): void {
    this.faults = null;
    for (const { to, fn } of this.held.values()) this.inOrder(to, fn);
    this.held.clear();
  }

  isPresent(id: string): boolean {
    return this.present.includes(id);
  }

  private newId(): string {
    return `p${(this.nextId++).toString(36)}`;
  }

  private admit(id: string): void {
    for (const other of this.present) this.deliver(other, (h) => h.onPeerJoined(id), true);
    this.present.push(id);
  }

  private relay(from: string, to: string | null, payload: string): void {
    if (!this.present.includes(from)) return;
    this.wire.push({ from, to, payload });
    this.inject(from, to, payload);
  }

  private targets(from: string, to: string | null): string[] {
    if (to !== null) return this.present.includes(to) ? [to] : [];
    return this.present.filter((id) => id !== from);
  }

  /** Presence notices are never dropped or duplicated (the server lies with relays, not presence). */
  private deliver(to: string, fn: (h: ServerHandlers) => void, notice: boolean): void {
    const f = notice ? null : this.faults;
    if (!f) return this.inOrder(to, fn);
    if (this.rng() < f.drop) return this.hold(to, fn, null);
    const copies = this.rng() < f.duplicate ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      if (this.rng() < f.delay) this.hold(to, fn, 1 + Math.floor(this.rng() * f.maxDelayMs));
      else this.inOrder(to, fn);
    }
  }

  /** In order per recipient, 1–20 ms after the previous copy to it at the earliest. */
  private inOrder(to: string, fn: (h: ServerHandlers) => void): void {
    const at = Math.max(this.horizon.get(to) ?? 0, this.clock.now() + 1 + Math.floor(this.rng() * 20));
    this.horizon.set(to, at);
    this.clock.setTimer(() => this.run(to, fn), at - this.clock.now());
  }

  /** Withheld (dropped: until heal; delayed: `ms`, so later copies overtake it). */
  private hold(to: string, fn: (h: ServerHandlers) => void, ms: number | null): void {
    const key = this.heldSeq++;
    this.held.set(key, { to, fn });
    if (ms !== null) this.clock.setTimer(() => this.held.delete(key) && this.run(to, fn), ms);
  }

  private run(to: string, fn: (h: ServerHandlers) => void): void {
    const h = this.handlers.get(to);
    if (h) fn(h);
  }
}
