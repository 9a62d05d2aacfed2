// The sim's environment over the real server: real timers; settle() returns once
// no agent timer is pending, no busy check (unanswered request, unfinished leave)
// objects, and the sockets were quiet for a while.

import type { TimerHandle } from '../../shared/e2ee/index.ts';
import type { SimEnv } from '../sim.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
      if (Date.now() - start > this.settleTimeoutMs)
        throw new Error(`not settled after ${this.settleTimeoutMs} ms: ${why ?? 'still receiving'}`);
      await sleep(5);
    }
  }
}
