// The browser bench driver's view of the machine (Node side, not part of the
// page): how much CPU other processes used while a cell measured, and the
// gate that, in quiet mode, holds a cell round until the machine is idle and
// re-runs rounds measured under load.

import fs from 'node:fs';
import type { GateVerdict } from './protocol.ts';

/** A round is re-run at most this many times. */
const MAX_RETRIES = 8;

export interface LoadPolicy {
  /** Wait for quiet before each round, and re-run rounds measured under load. */
  quiet: boolean;
  /** "Quiet" = other processes use at most this share of all CPUs. */
  quietShare: number;
  /** Wait for quiet at most this long in all, seconds. */
  quietMaxS: number;
}

/** Busy and total jiffies of all CPUs, from /proc/stat. */
function machineJiffies(): { busy: number; total: number } | undefined {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** utime+stime jiffies of this process and all its descendants (Chromium and its children). */
function ownJiffies(): number {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(rest[1]));
      cpu.set(Number(name), Number(rest[11]) + Number(rest[12]));
    } catch {
      // the process ended meanwhile
    }
  }
  let sum = 0;
  for (const [pid, t] of cpu) {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; p = parent.get(p), hops++) {
      if (p === process.pid) {
        sum += t;
        break;
      }
    }
  }
  return sum;
}

interface CpuMark {
  machine: { busy: number; total: number } | undefined;
  own: number;
}

export const cpuMark = (): CpuMark => ({ machine: machineJiffies(), own: ownJiffies() });

/** Share of all CPUs that processes other than this bench used between two marks, 0..1. */
export function othersShare(a: CpuMark, b: CpuMark): number | undefined {
  if (!a.machine || !b.machine) return undefined;
  const total = b.machine.total - a.machine.total;
  if (total <= 0) return undefined;
  return Math.max(0, (b.machine.busy - a.machine.busy - (b.own - a.own)) / total);
}

/** Decides, per cell round, whether to wait for quiet first and whether to keep what it measured. */
export class LoadGate {
  private mark: CpuMark | undefined;
  private readonly attempts = new Map<string, number>();
  private readonly deadline: number;
  /** Others' CPU share during every kept cell round. */
  readonly kept: number[] = [];
  waitedMs = 0;
  rejected = 0;

  constructor(private readonly policy: LoadPolicy) {
    this.deadline = performance.now() + policy.quietMaxS * 1000;
  }

  async onGate(kind: 'start' | 'end', label: string): Promise<GateVerdict> {
    if (kind === 'start') {
      if (this.policy.quiet) await this.waitQuiet();
      this.mark = cpuMark();
      return { keep: true, clean: true };
    }
    const share = this.mark ? othersShare(this.mark, cpuMark()) : undefined;
    const clean = share === undefined || share <= this.policy.quietShare;
    const n = this.attempts.get(label) ?? 0;
    if (this.policy.quiet && !clean && n < MAX_RETRIES && performance.now() < this.deadline) {
      this.attempts.set(label, n + 1);
      this.rejected++;
      return { keep: false, clean };
    }
    this.attempts.delete(label);
    if (share !== undefined) this.kept.push(share);
    return { keep: true, clean };
  }

  private async waitQuiet(): Promise<void> {
    const t0 = performance.now();
    while (performance.now() < this.deadline) {
      const a = cpuMark();
      await new Promise((r) => setTimeout(r, 500));
      const share = othersShare(a, cpuMark());
      if (share === undefined || share <= this.policy.quietShare) break;
    }
    this.waitedMs += performance.now() - t0;
  }
}
