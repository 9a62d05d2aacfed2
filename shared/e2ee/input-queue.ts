// The agent's ordered input queue: every input (server notice, relayed
// payload, leader action, timer) is one task, run one at a time in arrival
// order, so the protocol code never sees two inputs interleave. Timers only
// enqueue their task; stopping clears them all.

import type { TimerHandle } from './events.ts';

export interface InputQueueOptions {
  setTimer: (fn: () => void, ms: number) => TimerHandle;
  clearTimer: (handle: TimerHandle) => void;
  /** Once true, queued tasks are skipped. */
  stopped: () => boolean;
  /** A task threw: report it, and go on with the next. */
  onError: (error: unknown) => void;
}

export class InputQueue {
  private tail: Promise<void> = Promise.resolve();
  private readonly timers = new Set<TimerHandle>();

  constructor(private readonly opts: InputQueueOptions) {}

  enqueue(task: () => void | Promise<void>): void {
    this.tail = this.tail.then(async () => {
      if (this.opts.stopped()) return;
      try {
        await task();
      } catch (e) {
        this.opts.onError(e);
      }
    });
  }

  /** Enqueues `task` after `ms`. */
  timer(ms: number, task: () => void | Promise<void>): TimerHandle {
    const handle: TimerHandle = this.opts.setTimer(() => {
      this.timers.delete(handle);
      this.enqueue(task);
    }, ms);
    this.timers.add(handle);
    return handle;
  }

  cancel(handle: TimerHandle | null): void {
    if (handle === null) return;
    this.opts.clearTimer(handle);
    this.timers.delete(handle);
  }

  /** Cancels every timer (tasks already queued are skipped once `stopped` says so). */
  clearTimers(): void {
    for (const t of this.timers) this.opts.clearTimer(t);
    this.timers.clear();
  }

  /** Resolves once every task queued so far, and any they queued, has run. */
  async idle(): Promise<void> {
    let q: Promise<void>;
    do {
      q = this.tail;
      await q;
    } while (q !== this.tail);
  }
}
