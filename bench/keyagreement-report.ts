// bench/keyagreement.ts's results and their report: the per-rotation and
// per-size records, the RESULTS.md tables (latency, per-client work, growth
// with N) and the machine description.

import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { TrafficCounters } from '../harness/real-server/hub.ts';

export type Kind = 'leave' | 'join' | 'leader-leave';

export interface Rotation {
  kind: Kind;
  members: number;
  epochs: number;
  keysSentMs: number;
  allReceiveMs: number;
  allSwitchedMs: number;
  leaderBuildMs: number;
  commit: string;
  traffic: TrafficCounters;
  cpuMs: number;
  problems: string[];
}

export interface Instrumented {
  /** One member's whole epoch (roster, keys, HKDF for every sender, ack, commit), alone in the process. */
  memberMs: number;
  memberCpuMs: number;
  /** The leader verifying `acks` acks, alone in the process. */
  leaderAckMs: number;
  leaderAckCpuMs: number;
  acks: number;
  problems: string[];
}

export interface SizeResult {
  n: number;
  setupMs: number;
  setupCpuMs: number;
  rotations: Rotation[];
  instrumented: Instrumented;
  problems: string[];
}

export const median = (xs: readonly number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
export const ms = (x: number): string => (Number.isFinite(x) ? `${Math.round(x)}` : '–');
export const kb = (chars: number): string => `${(chars / 1024).toFixed(1)}`;

export function table(results: SizeResult[]): string {
  const lines: string[] = [];
  lines.push(
    '| N | rotation | n | keys sent (ms) | all hold new receive keys (ms) | all switched send key (ms) | commits | relay msgs sent / delivered | KiB sent / delivered | largest msg (KiB) | process CPU (ms) |',
  );
  lines.push('|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|');
  for (const r of results) {
    for (const kind of ['leave', 'join', 'leader-leave', 'all'] as const) {
      const rs = r.rotations.filter((x) => kind === 'all' || x.kind === kind);
      if (rs.length === 0) continue;
      const commits = new Map<string, number>();
      for (const x of rs) commits.set(x.commit, (commits.get(x.commit) ?? 0) + 1);
      const t = (f: (c: TrafficCounters) => number): number => median(rs.map((x) => f(x.traffic)));
      lines.push(
        `| ${r.n} | ${kind === 'all' ? '**all (p50)**' : kind} | ${rs.length} | ${ms(median(rs.map((x) => x.keysSentMs)))} | ${ms(median(rs.map((x) => x.allReceiveMs)))} | ${ms(median(rs.map((x) => x.allSwitchedMs)))} | ` +
          `${[...commits].map(([k, v]) => `${k}×${v}`).join(' ')} | ${t((c) => c.sentMessages)} / ${t((c) => c.deliveredMessages)} | ${kb(t((c) => c.sentChars))} / ${kb(t((c) => c.deliveredChars))} | ` +
          `${kb(Math.max(...rs.map((x) => x.traffic.largestPayload)))} | ${ms(median(rs.map((x) => x.cpuMs)))} |`,
      );
    }
  }
  return lines.join('\n');
}

export function perClientTable(results: SizeResult[]): string {
  const lines: string[] = [];
  lines.push(
    "| N | process CPU per member per rotation (ms) | one member's epoch, alone: wall / CPU (ms) | leader: batch timer → keys sent (ms) | leader: verify acks, alone: wall / CPU (ms) | estimated browser rotation, RTT 50 ms: all receive / all switched (ms) |",
  );
  lines.push('|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const cpuPerMember = median(r.rotations.map((x) => x.cpuMs / x.members));
    const build = median(r.rotations.map((x) => x.leaderBuildMs));
    const i = r.instrumented;
    // Client ↔ server one way 25 ms: notice 1×, roster+keys 2×, ack 2×, commit 2×; CPU figures for the work.
    const recv = 25 + build + 50 + i.memberCpuMs;
    const sw = estimateSwitched(r);
    lines.push(
      `| ${r.n} | ${cpuPerMember.toFixed(1)} | ${i.memberMs.toFixed(1)} / ${i.memberCpuMs.toFixed(1)} | ${build.toFixed(1)} | ${i.leaderAckMs.toFixed(1)} / ${i.leaderAckCpuMs.toFixed(1)} (${i.acks} acks) | ${ms(recv)} / ${ms(sw)} |`,
    );
  }
  return lines.join('\n');
}

export function growth(results: SizeResult[]): string {
  const out: string[] = [];
  for (let i = 1; i < results.length; i++) {
    const a = results[i - 1] as SizeResult;
    const b = results[i] as SizeResult;
    const f = (r: SizeResult, g: (x: Rotation) => number): number => median(r.rotations.map(g));
    const exp = (x: number, y: number): string => (Math.log(y / x) / Math.log(b.n / a.n)).toFixed(2);
    const sw = [f(a, (x) => x.allSwitchedMs), f(b, (x) => x.allSwitchedMs)] as const;
    const cpu = [f(a, (x) => x.cpuMs), f(b, (x) => x.cpuMs)] as const;
    const del = [f(a, (x) => x.traffic.deliveredChars), f(b, (x) => x.traffic.deliveredChars)] as const;
    const mem = [a.instrumented.memberCpuMs, b.instrumented.memberCpuMs] as const;
    out.push(
      `- N ${a.n} → ${b.n} (×${(b.n / a.n).toFixed(1)}): all switched ×${(sw[1] / sw[0]).toFixed(1)} (∝ N^${exp(...sw)}), process CPU ×${(cpu[1] / cpu[0]).toFixed(1)} (N^${exp(...cpu)}), ` +
        `characters delivered ×${(del[1] / del[0]).toFixed(1)} (N^${exp(...del)}), one member's epoch (CPU) ×${(mem[1] / mem[0]).toFixed(1)} (N^${exp(...mem)})`,
    );
  }
  return out.join('\n');
}

export function cpuModel(): string {
  try {
    const line = fs
      .readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export function nproc(): string {
  try {
    return execSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return String(os.availableParallelism());
  }
}

/** All switched for an isolated rotation if each browser did only its own work (see the report's per-client notes). */
export function estimateSwitched(r: SizeResult): number {
  const i = r.instrumented;
  const build = median(r.rotations.map((x) => x.leaderBuildMs));
  return 25 + build + 50 + i.memberCpuMs + 50 + (i.leaderAckCpuMs * (r.n - 1)) / Math.max(1, i.acks) + 50;
}
