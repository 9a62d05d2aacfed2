// auditTap(dir): reads a tap directory, measures every producer, searches for
// key material, decides BLIND / NOT BLIND and writes report.md, report.html
// and summary.json into the directory. The orchestration lives here; each
// measurement is its own module.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractFrames, type Extraction } from './extract.ts';
import { ffmpegCapabilities } from './ffmpeg.ts';
import { KeyScanner } from './key-scan.ts';
import { payloadCodec } from './payload.ts';
import { auditProducer, type ProducerInput } from './producer-audit.ts';
import { renderHtml } from './report-html.ts';
import { renderMarkdown } from './report-md.ts';
import { viewFrame } from './sframe-structure.ts';
import { findInstanceDirs, readIndex, readProducerPcap, readSignaling, type TapErrorCode } from './tap-reader.ts';
import type { AuditOptions, AuditSummary, InstanceAudit, KeySearchSummary, ProducerAudit } from './types.ts';
import { decideVerdict, keyFindings, producerFindings } from './verdict.ts';

export type { AuditOptions, AuditSummary, KeySpec, Verdict } from './types.ts';

/** The tap directory cannot be audited at all (the CLI exits 2). */
export class AuditInputError extends Error {
  constructor(
    readonly code: TapErrorCode | 'BAD_KEYS',
    message: string,
  ) {
    super(message);
    this.name = 'AuditInputError';
  }
}

const EMPTY_EXTRACTION: Extraction = {
  packets: 0,
  bytes: 0,
  mediaPackets: 0,
  otherPayloadType: 0,
  paddingOnly: 0,
  malformed: {},
  duplicatePackets: 0,
  frames: [],
  incomplete: 0,
};

interface Env {
  readonly ffmpeg: string;
  readonly caps: Awaited<ReturnType<typeof ffmpegCapabilities>>;
  readonly keys: AuditOptions['keys'];
  readonly keepMedia: boolean;
  readonly tmpRoot: string;
}

async function auditInstance(
  instDir: string,
  name: string,
  env: Env,
): Promise<{ audit: InstanceAudit; keys: KeySearchSummary; frames: number; packets: number }> {
  const index = readIndex(instDir);
  if (!index.ok) throw new AuditInputError(index.code, index.message);
  const scanner = new KeyScanner(env.keys ?? []);
  const signaling = readSignaling(instDir);
  for (const l of signaling.lines) {
    const who = [l.dir, l.participantId && `participant ${l.participantId}`].filter(Boolean).join(', ');
    scanner.scanSignalingLine(`${name}/signaling.jsonl line ${l.line}${who ? ` (${who})` : ''}`, l.raw);
  }

  // Pass 1: frames and SFrame views of every producer (KIDs are judged per sender, across producers).
  const inputs: ProducerInput[] = [];
  for (const entry of index.value.producers) {
    const codec = payloadCodec(entry.codec);
    const pcap = readProducerPcap(instDir, entry.file);
    const captured = pcap.ok ? pcap.value : [];
    captured.forEach((c, i) => scanner.scanPacket(`${name}/${entry.file} packet ${i + 1}`, c.data));
    const extraction = codec
      ? extractFrames(codec, entry.payloadType, captured)
      : { ...EMPTY_EXTRACTION, packets: captured.length, bytes: captured.reduce((n, c) => n + c.data.length, 0) };
    extraction.frames.forEach((f) => scanner.scanFrame(`${name} producer ${entry.producerId} frame ${f.index}`, f.data));
    inputs.push({
      entry,
      codec,
      extraction,
      ...(pcap.ok ? {} : { captureError: `${pcap.code}: ${pcap.message}` }),
      views: extraction.frames.map((f) => viewFrame(entry.codec, f.data)),
    });
  }
  const kidsBySender = new Map<string, Map<bigint, number>>();
  for (const p of inputs) {
    const m = kidsBySender.get(p.entry.participantId) ?? new Map<bigint, number>();
    kidsBySender.set(p.entry.participantId, m);
    for (const v of p.views) if (v.kid !== undefined && v.issue === undefined) m.set(v.kid, (m.get(v.kid) ?? 0) + 1);
  }

  // Pass 2: structure, entropy and decoder tests.
  const mediaDir = env.keepMedia ? path.join(instDir, 'audit-media') : path.join(env.tmpRoot, name.replace(/[^A-Za-z0-9_-]/g, '_'));
  // Producers in parallel: runFfmpeg bounds how many decoders actually run at once.
  const producers: ProducerAudit[] = await Promise.all(
    inputs.map(async (p) => {
      const measured = await auditProducer(p, kidsBySender.get(p.entry.participantId) ?? new Map(), {
        ffmpeg: env.ffmpeg,
        caps: env.caps,
        mediaDir,
      });
      return { ...measured, findings: producerFindings(measured) };
    }),
  );
  const keys = scanner.summary();
  const frames = producers.reduce((n, p) => n + p.frames.complete, 0);
  const keyReasons = keyFindings(keys.hits);
  if (keys.moreHits) keyReasons.push(`${keys.moreHits} further key-material hits not listed`);
  const { verdict, reasons } = decideVerdict({
    totalFrames: frames,
    producerFindings: producers.flatMap((p) => p.findings),
    keyFindings: keyReasons,
  });
  return {
    audit: {
      dir: instDir,
      meetingId: index.value.meetingId,
      instanceId: index.value.instanceId,
      startedAt: index.value.startedAt,
      signaling: { lines: signaling.lines.length, unparsable: signaling.unparsable, missing: signaling.missing },
      producers,
      verdict,
      reasons,
    },
    keys,
    frames,
    packets: producers.reduce((n, p) => n + p.capture.packets, 0),
  };
}

function mergeKeySummaries(list: readonly KeySearchSummary[], keyCount: number): KeySearchSummary {
  const first = list[0];
  const sum = (f: (k: KeySearchSummary) => number) => list.reduce((n, k) => n + f(k), 0);
  return {
    ran: list.some((k) => k.ran),
    keys: keyCount,
    skipped: first?.skipped ?? [],
    needles: first?.needles ?? 0,
    haystacks: {
      signalingLines: sum((k) => k.haystacks.signalingLines),
      decodedTokens: sum((k) => k.haystacks.decodedTokens),
      rtpPackets: sum((k) => k.haystacks.rtpPackets),
      frames: sum((k) => k.haystacks.frames),
      bytes: sum((k) => k.haystacks.bytes),
    },
    hits: list.flatMap((k) => k.hits),
    moreHits: sum((k) => k.moreHits),
  };
}

function caveatsOf(instances: readonly InstanceAudit[], keys: KeySearchSummary, ffmpegVersion: string): string[] {
  const out: string[] = [];
  if (!keys.ran) out.push('key material was not searched: no keys given (--keys FILE)');
  for (const s of keys.skipped) out.push(`key '${s.label}' was not searched: ${s.code} (${s.message})`);
  if (!ffmpegVersion) out.push('ffmpeg is not available: no decode test could run');
  for (const inst of instances) {
    if (inst.signaling.missing) out.push(`${inst.dir}: signaling.jsonl is missing, so signaling was not searched`);
    for (const p of inst.producers) {
      if (p.capture.packets === 0)
        out.push(`${inst.dir}: producer ${p.producerId.slice(0, 8)} (${p.participantName}, ${p.source}) sent no packets`);
      const mostlySFrame = p.sframe.consistent >= 0.9 * p.sframe.frames;
      if (
        p.decode.type === 'audio' &&
        ((!mostlySFrame && p.decode.asCaptured?.result === 'inconclusive') ||
          (mostlySFrame && p.decode.stripped?.result === 'inconclusive'))
      ) {
        out.push(
          `${inst.dir}: producer ${p.producerId.slice(0, 8)} has too little audio for the audio decode test to conclude; its SFrame structure is the evidence`,
        );
      }
    }
  }
  return out;
}

export async function auditTap(dir: string, opts: AuditOptions = {}): Promise<AuditSummary> {
  const root = path.resolve(dir);
  const found = findInstanceDirs(root);
  if (!found.ok) throw new AuditInputError(found.code, found.message);
  const ffmpeg = opts.ffmpeg ?? 'ffmpeg';
  const caps = await ffmpegCapabilities(ffmpeg);
  const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-audit-'));
  const env: Env = { ffmpeg, caps, keys: opts.keys, keepMedia: opts.keepMedia ?? false, tmpRoot };
  try {
    const results = [];
    for (const inst of found.value) results.push(await auditInstance(inst, path.relative(root, inst) || path.basename(inst), env));
    const instances = results.map((r) => r.audit);
    const keys = mergeKeySummaries(
      results.map((r) => r.keys),
      opts.keys?.length ?? 0,
    );
    const frames = results.reduce((n, r) => n + r.frames, 0);
    const many = instances.length > 1;
    const reasons = instances.flatMap((i) => i.reasons.map((r) => (many ? `${i.meetingId}-${i.instanceId}: ${r}` : r)));
    if (frames === 0 && !reasons.some((r) => r.includes('nothing captured')))
      reasons.unshift('nothing captured: no complete media frame in the tap');
    const files = { markdown: path.join(root, 'report.md'), html: path.join(root, 'report.html'), json: path.join(root, 'summary.json') };
    const summary: AuditSummary = {
      tool: 'e2ee-meet tap audit',
      version: 1,
      dir: root,
      generatedAt: new Date().toISOString(),
      ffmpeg: caps.version,
      verdict: reasons.length === 0 ? 'BLIND' : 'NOT BLIND',
      reasons,
      caveats: caveatsOf(instances, keys, caps.version),
      totals: {
        instances: instances.length,
        producers: instances.reduce((n, i) => n + i.producers.length, 0),
        packets: results.reduce((n, r) => n + r.packets, 0),
        frames,
      },
      keySearch: keys,
      instances,
      files,
    };
    if (opts.writeReports ?? true) {
      fs.writeFileSync(files.markdown, renderMarkdown(summary));
      fs.writeFileSync(files.html, renderHtml(summary));
      fs.writeFileSync(files.json, JSON.stringify(summary, null, 2) + '\n');
    }
    return summary;
  } finally {
    fs.rmSync(tmpRoot, { recursive: true, force: true });
  }
}
