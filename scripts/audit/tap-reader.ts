// Reading a tap directory (server/tap/tap.ts writes it): instance folders with
// index.json, signaling.jsonl and producers/<id>.pcap. Shapes are checked here
// so the rest of the audit can trust them.

import fs from 'node:fs';
import path from 'node:path';
import { readPcap } from '../../server/tap/pcap.ts';
import { failure, success, type AuditResult } from './result.ts';

/** Which producer a capture belongs to (index.json; repeated in summary.json). */
export interface ProducerIdentity {
  readonly producerId: string;
  readonly participantId: string;
  readonly participantName: string;
  readonly kind: string;
  readonly source: string;
  readonly codec: string;
  readonly payloadType: number;
}

export interface TapProducer extends ProducerIdentity {
  readonly clockRate: number;
  readonly file: string;
  readonly packets: number;
  readonly bytes: number;
}

export interface TapIndexFile {
  readonly meetingId: string;
  readonly instanceId: string;
  readonly startedAt: string;
  readonly producers: TapProducer[];
}

export interface SignalingLine {
  /** 1-based line number in signaling.jsonl. */
  readonly line: number;
  readonly raw: string;
  readonly dir?: string;
  readonly participantId?: string;
  readonly message?: string;
}

export type TapErrorCode = 'NOT_FOUND' | 'NO_INSTANCES' | 'BAD_INDEX';

/** DIR itself if it is an instance, else its subfolders that are. */
export function findInstanceDirs(dir: string): AuditResult<string[], TapErrorCode> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return failure('NOT_FOUND', `${dir} is not a directory`);
  if (fs.existsSync(path.join(dir, 'index.json'))) return success([dir]);
  const subs = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'index.json')))
    .map((d) => path.join(dir, d.name))
    .sort();
  return subs.length ? success(subs) : failure('NO_INSTANCES', `no meeting instance (a folder with index.json) in ${dir}`);
}

const str = (v: unknown): v is string => typeof v === 'string';
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function readIndex(dir: string): AuditResult<TapIndexFile, TapErrorCode> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
  } catch (e) {
    return failure('BAD_INDEX', `${dir}/index.json: ${e instanceof Error ? e.message : String(e)}`);
  }
  const o = raw as Record<string, unknown>;
  if (!o || typeof o !== 'object' || !Array.isArray(o['producers'])) return failure('BAD_INDEX', `${dir}/index.json has no producers list`);
  const producers: TapProducer[] = [];
  for (const [i, p] of (o['producers'] as unknown[]).entries()) {
    const q = p as Record<string, unknown>;
    if (!q || !str(q['producerId']) || !str(q['codec']) || !num(q['payloadType']) || !str(q['file'])) {
      return failure('BAD_INDEX', `${dir}/index.json: producer ${i} lacks producerId, codec, payloadType or file`);
    }
    producers.push({
      producerId: q['producerId'],
      participantId: str(q['participantId']) ? q['participantId'] : '?',
      // Taps from before #11 named participants; the server now knows only opaque IDs.
      participantName: str(q['participantName']) ? q['participantName'] : str(q['participantId']) ? q['participantId'] : '?',
      kind: str(q['kind']) ? q['kind'] : (q['codec'].split('/')[0] ?? '?'),
      source: str(q['source']) ? q['source'] : '?',
      codec: q['codec'],
      payloadType: q['payloadType'],
      clockRate: num(q['clockRate']) ? q['clockRate'] : 0,
      file: q['file'],
      packets: num(q['packets']) ? q['packets'] : 0,
      bytes: num(q['bytes']) ? q['bytes'] : 0,
    });
  }
  return success({
    meetingId: str(o['meetingId']) ? o['meetingId'] : path.basename(dir),
    instanceId: str(o['instanceId']) ? o['instanceId'] : '',
    startedAt: str(o['startedAt']) ? o['startedAt'] : '',
    producers,
  });
}

export function readSignaling(dir: string): { lines: SignalingLine[]; missing: boolean; unparsable: number } {
  const file = path.join(dir, 'signaling.jsonl');
  if (!fs.existsSync(file)) return { lines: [], missing: true, unparsable: 0 };
  const lines: SignalingLine[] = [];
  let unparsable = 0;
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      if (!raw.trim()) return;
      try {
        const o = JSON.parse(raw) as Record<string, unknown>;
        lines.push({
          line: i + 1,
          raw,
          ...(str(o['dir']) ? { dir: o['dir'] } : {}),
          ...(str(o['participantId']) ? { participantId: o['participantId'] } : {}),
          ...(str(o['message']) ? { message: o['message'] } : {}),
        });
      } catch {
        unparsable++;
        lines.push({ line: i + 1, raw });
      }
    });
  return { lines, missing: false, unparsable };
}

export interface CapturedPacket {
  readonly timeMs: number;
  readonly data: Uint8Array;
}

export type PcapErrorCode = 'PCAP_MISSING' | 'PCAP_INVALID';

export function readProducerPcap(dir: string, file: string): AuditResult<CapturedPacket[], PcapErrorCode> {
  const full = path.resolve(dir, file);
  if (!full.startsWith(path.resolve(dir) + path.sep)) return failure('PCAP_INVALID', `${file} points outside the instance folder`);
  if (!fs.existsSync(full)) return failure('PCAP_MISSING', `${file} is missing`);
  try {
    const buf = fs.readFileSync(full);
    if (buf.length === 0) return success([]); // created, nothing written yet
    return success(readPcap(buf).map((r) => ({ timeMs: r.timeMs, data: r.payload })));
  } catch (e) {
    return failure('PCAP_INVALID', `${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
