// Builds tap directories without browsers: real VP8/VP9/Opus from ffmpeg's
// encoders, packetised into RTP the way a WebRTC sender does (payload
// descriptors, one-byte header extensions, RTX, padding, a duplicate and a
// reordering), optionally SFrame-encrypted with the project's key store, and
// written in the tap's own pcap/index/signaling layout.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pcapGlobalHeader, pcapRecord, type Endpoint } from '../../server/tap/pcap.ts';
import { encodeHeader, SFrameKeyStore } from '../../shared/sframe/index.ts';
import { WorkerKeys } from '../../client/src/e2ee/worker/keys.ts';
import { readIvf } from '../../scripts/audit/ivf.ts';
import { readOggPackets } from '../../scripts/audit/ogg.ts';

export type FixtureCodec = 'vp8' | 'vp9' | 'opus';

export interface SourceFrame {
  /** RTP timestamp (90 kHz video, 48 kHz audio) relative to the stream start. */
  readonly ts: number;
  readonly data: Uint8Array;
  readonly keyframe: boolean;
}

export interface Sources {
  readonly vp8: SourceFrame[];
  readonly vp9: SourceFrame[];
  readonly opus: SourceFrame[];
}

const created: string[] = [];

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `audit-${prefix}-`));
  created.push(dir);
  return dir;
}

/** Removes every folder tempDir made in this test file. */
export function removeTempDirs(): void {
  for (const d of created.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

const ffmpeg = (args: string[]) => execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args]);

/** Two seconds of test pattern (VP8, VP9) and of a 440 Hz tone (Opus), encoded like a realtime sender. */
export function encodeSources(dir: string): Sources {
  const vp8File = path.join(dir, 'src-vp8.ivf');
  const vp9File = path.join(dir, 'src-vp9.ivf');
  const opusFile = path.join(dir, 'src-tone.ogg');
  const realtime = [
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-lag-in-frames',
    '0',
    '-auto-alt-ref',
    '0',
    '-g',
    '15',
    '-b:v',
    '300k',
    '-pix_fmt',
    'yuv420p',
  ];
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-t', '2', '-c:v', 'libvpx', ...realtime, vp8File]);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-t', '2', '-c:v', 'libvpx-vp9', ...realtime, vp9File]);
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    '2',
    '-ac',
    '1',
    '-c:a',
    'libopus',
    '-application',
    'voip',
    '-b:a',
    '32k',
    '-frame_duration',
    '20',
    opusFile,
  ]);
  const video = (file: string, keyOf: (b0: number) => boolean): SourceFrame[] => {
    const ivf = readIvf(fs.readFileSync(file));
    if (!ivf.ok) throw new Error(`${file}: ${ivf.code}`);
    return ivf.value.frames.map((f, i) => ({ ts: i * 6000, data: new Uint8Array(f.data), keyframe: keyOf(f.data[0]!) }));
  };
  const ogg = readOggPackets(fs.readFileSync(opusFile));
  if (!ogg.ok) throw new Error(`${opusFile}: ${ogg.code}`);
  return {
    vp8: video(vp8File, (b0) => (b0 & 1) === 0),
    // VP9 profile 0: frame_marker(2) profile(2) show_existing(1) frame_type(1): key when frame_type = 0.
    vp9: video(vp9File, (b0) => (b0 & 0x04) === 0),
    opus: ogg.value.slice(2).map((p, i) => ({ ts: i * 960, data: new Uint8Array(p), keyframe: false })),
  };
}

// ---- SFrame ----

export interface SenderKeys {
  readonly kid: bigint;
  readonly baseKey: Uint8Array;
}

export function fixedKey(seed: number, length = 16): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed * 31 + i * 7 + 1) & 0xff);
}

/**
 * Encrypts one sender's tracks with one key store, in timestamp order, so the
 * tracks share a counter as in the browser. `rekeyAt` switches to the second
 * key from that fraction of the stream on.
 */
export async function encryptSender(
  tracks: ReadonlyArray<{ codec: FixtureCodec; frames: SourceFrame[] }>,
  keys: readonly SenderKeys[],
  rekeyAt = 0.5,
): Promise<SourceFrame[][]> {
  const store = new SFrameKeyStore();
  const out = tracks.map(() => [] as SourceFrame[]);
  const events = tracks.flatMap((t, ti) => t.frames.map((f, fi) => ({ ti, fi, f, at: f.ts / (t.codec === 'opus' ? 48000 : 90000) })));
  events.sort((a, b) => a.at - b.at);
  const end = events[events.length - 1]?.at ?? 0;
  let current = -1;
  for (const e of events) {
    const want = keys.length > 1 && e.at >= end * rekeyAt ? 1 : 0;
    if (want !== current) {
      const r = await store.setSendKey(keys[want]!.kid, keys[want]!.baseKey);
      if (!r.ok) throw new Error(r.error.message);
      current = want;
    }
    const enc = await store.encrypt(tracks[e.ti]!.codec, e.f.data);
    if (!enc.ok) throw new Error(enc.error.message);
    out[e.ti]![e.fi] = { ...e.f, data: enc.value.data };
  }
  return out;
}

/**
 * A microphone as the app's frame worker sends it (its compact-KID audio
 * format), under one sender key per entry of `keys`, switching evenly.
 */
export async function encryptMic(frames: readonly SourceFrame[], keys: readonly SenderKeys[]): Promise<SourceFrame[]> {
  const worker = new WorkerKeys();
  const out: SourceFrame[] = [];
  for (const [i, f] of frames.entries()) {
    const k = keys[Math.floor((i * keys.length) / frames.length)]!;
    if (worker.sendKid !== k.kid) {
      const r = await worker.setSendKey(k.kid, k.baseKey);
      if (!r.ok) throw new Error(r.error.message);
    }
    const enc = await worker.encrypt('opus', f.data, 'mic');
    if (!enc.ok) throw new Error(enc.message);
    out.push({ ...f, data: enc.data });
  }
  return out;
}

/** A broken sender: SFrame header and a fake tag around unencrypted bytes. */
export function fakeSFrame(codec: FixtureCodec, frames: readonly SourceFrame[], kid: bigint): SourceFrame[] {
  return frames.map((f, i) => {
    const clear = codec === 'vp8' ? ((f.data[0]! & 1) === 0 ? 10 : 3) : codec === 'opus' ? 1 : 0;
    const header = encodeHeader(kid, BigInt(100 + i));
    if (!header.ok) throw new Error(header.error.message);
    const out = new Uint8Array(f.data.length + header.value.length + 16);
    out.set(f.data.subarray(0, clear));
    out.set(header.value, clear);
    out.set(f.data.subarray(clear), clear + header.value.length);
    return { ...f, data: out };
  });
}

// ---- RTP ----

const EXT = { mid: 1, absSendTime: 4, transportCc: 5, audioLevel: 10 };
const MAX_PAYLOAD = 1000;

interface RtpFields {
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  marker: boolean;
  extensions: Array<[number, Uint8Array]>;
  payload: Uint8Array;
  padding?: number;
}

/** RTP with a one-byte-header extension block (RFC 8285), as mediasoup forwards it. */
export function rtpPacket(f: RtpFields): Uint8Array {
  const ext = f.extensions.flatMap(([id, d]) => [(id << 4) | (d.length - 1), ...d]);
  while (ext.length % 4) ext.push(0);
  const pad = f.padding ?? 0;
  const out = new Uint8Array(12 + (ext.length ? 4 + ext.length : 0) + f.payload.length + pad);
  const v = new DataView(out.buffer);
  out[0] = 0x80 | (pad ? 0x20 : 0) | (ext.length ? 0x10 : 0);
  out[1] = (f.marker ? 0x80 : 0) | f.pt;
  v.setUint16(2, f.seq & 0xffff);
  v.setUint32(4, f.ts >>> 0);
  v.setUint32(8, f.ssrc);
  let at = 12;
  if (ext.length) {
    v.setUint16(at, 0xbede);
    v.setUint16(at + 2, ext.length / 4);
    out.set(ext, at + 4);
    at += 4 + ext.length;
  }
  out.set(f.payload, at);
  if (pad) out[out.length - 1] = pad;
  return out;
}

/** VP8 payload descriptor (RFC 7741) with a 15-bit PictureID, as Chrome sends it. */
function vp8Descriptor(start: boolean, pictureId: number): Uint8Array {
  return Uint8Array.of(0x80 | (start ? 0x10 : 0), 0x80, 0x80 | ((pictureId >> 8) & 0x7f), pictureId & 0xff);
}

/** VP9 payload descriptor (RFC 9628), non-flexible, with the scalability structure on keyframes. */
function vp9Descriptor(start: boolean, end: boolean, keyframe: boolean, pictureId: number): Uint8Array {
  const b0 = 0x80 | (keyframe ? 0 : 0x40) | (start ? 0x08 : 0) | (end ? 0x04 : 0) | (keyframe && start ? 0x02 : 0);
  const head = [b0, 0x80 | ((pictureId >> 8) & 0x7f), pictureId & 0xff];
  if (keyframe && start) head.push(0x10, 320 >> 8, 320 & 0xff, 240 >> 8, 240 & 0xff); // N_S=0, Y=1: one 320x240 layer
  return Uint8Array.from(head);
}

export interface Packetised {
  readonly packets: Array<{ timeMs: number; data: Uint8Array }>;
  readonly payloadType: number;
}

/**
 * One producer's packets in arrival order. Adds what real captures contain:
 * an RTX copy (other PT), a padding-only probe, a duplicate and two packets
 * swapped in arrival order.
 */
export function packetise(codec: FixtureCodec, frames: readonly SourceFrame[], ssrc: number, t0Ms = 1_700_000_000_000): Packetised {
  const pt = codec === 'opus' ? 100 : codec === 'vp8' ? 101 : 103;
  const clock = codec === 'opus' ? 48000 : 90000;
  const packets: Array<{ timeMs: number; data: Uint8Array }> = [];
  let seq = 65500; // wraps during the stream
  let twcc = 1;
  frames.forEach((f, fi) => {
    const timeMs = t0Ms + (f.ts / clock) * 1000;
    const ext = (): Array<[number, Uint8Array]> => {
      const abs = Math.round((timeMs / 1000) * (1 << 18)) & 0xffffff;
      const list: Array<[number, Uint8Array]> = [
        [EXT.mid, Uint8Array.of(0x30 + (codec === 'opus' ? 0 : 1))],
        [EXT.absSendTime, Uint8Array.of(abs >> 16, (abs >> 8) & 0xff, abs & 0xff)],
        [EXT.transportCc, Uint8Array.of((twcc >> 8) & 0xff, twcc++ & 0xff)],
      ];
      if (codec === 'opus') list.push([EXT.audioLevel, Uint8Array.of(0x80 | 30)]);
      return list;
    };
    if (codec === 'opus') {
      packets.push({ timeMs, data: rtpPacket({ pt, seq: seq++, ts: f.ts, ssrc, marker: fi === 0, extensions: ext(), payload: f.data }) });
      return;
    }
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < f.data.length; at += MAX_PAYLOAD) chunks.push(f.data.subarray(at, at + MAX_PAYLOAD));
    chunks.forEach((c, ci) => {
      const last = ci === chunks.length - 1;
      const desc = codec === 'vp8' ? vp8Descriptor(ci === 0, fi) : vp9Descriptor(ci === 0, last, f.keyframe, fi);
      const payload = new Uint8Array(desc.length + c.length);
      payload.set(desc);
      payload.set(c, desc.length);
      packets.push({ timeMs, data: rtpPacket({ pt, seq: seq++, ts: f.ts, ssrc, marker: last, extensions: ext(), payload }) });
    });
  });
  // Real-capture noise: RTX (PT+1, OSN + payload), a padding-only probe, a duplicate, a reordering.
  const copy = packets[3]!;
  packets.splice(6, 0, {
    timeMs: copy.timeMs + 30,
    data: rtpPacket({
      pt: pt + 1,
      seq: 1,
      ts: 0,
      ssrc: ssrc + 1,
      marker: false,
      extensions: [],
      payload: Uint8Array.of(0, 3, ...copy.data.subarray(24, 60)),
    }),
  });
  packets.splice(9, 0, {
    timeMs: packets[8]!.timeMs,
    data: rtpPacket({
      pt,
      seq: seq++,
      ts: frames[frames.length - 1]!.ts,
      ssrc,
      marker: false,
      extensions: [],
      payload: new Uint8Array(0),
      padding: 200,
    }),
  });
  packets.splice(12, 0, packets[11]!);
  [packets[15], packets[16]] = [packets[16]!, packets[15]!];
  return { packets, payloadType: pt };
}

// ---- tap layout ----

export interface FixtureProducer {
  readonly producerId: string;
  readonly participantId: string;
  readonly participantName: string;
  readonly codec: FixtureCodec;
  readonly packetised: Packetised;
}

const MIME: Record<FixtureCodec, string> = { vp8: 'video/VP8', vp9: 'video/VP9', opus: 'audio/opus' };

/** Writes DIR/<meeting>-<instance>/ as server/tap/tap.ts does. Returns the instance folder. */
export function writeTap(
  root: string,
  producers: readonly FixtureProducer[],
  signaling: readonly object[],
  meetingId = 'm1',
  instanceId = 'i1',
): string {
  const dir = path.join(root, `${meetingId}-${instanceId}`);
  fs.mkdirSync(path.join(dir, 'producers'), { recursive: true });
  const src: Endpoint = { ip: [10, 0, 0, 1], port: 40000 };
  let ipId = 0;
  const entries = producers.map((p, i) => {
    const dst: Endpoint = { ip: [10, 0, 1, 2 + i], port: 50000 + 2 * i };
    const file = path.join('producers', `${p.producerId}.pcap`);
    const recs = p.packetised.packets.map((k) => pcapRecord(k.data, k.timeMs, src, dst, ipId++));
    fs.writeFileSync(path.join(dir, file), Buffer.concat([pcapGlobalHeader(), ...recs]));
    return {
      producerId: p.producerId,
      participantId: p.participantId,
      participantName: p.participantName,
      kind: p.codec === 'opus' ? 'audio' : 'video',
      source: p.codec === 'opus' ? 'mic' : 'camera',
      codec: MIME[p.codec],
      payloadType: p.packetised.payloadType,
      clockRate: p.codec === 'opus' ? 48000 : 90000,
      udpPort: dst.port,
      file,
      packets: p.packetised.packets.length,
      bytes: p.packetised.packets.reduce((n, k) => n + k.data.length, 0),
    };
  });
  fs.writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({ meetingId, instanceId, startedAt: '2025-01-01T00:00:00.000Z', producers: entries }, null, 2),
  );
  fs.writeFileSync(
    path.join(dir, 'signaling.jsonl'),
    signaling
      .map(
        (m, i) =>
          JSON.stringify({ t: 1_700_000_000_000 + i, dir: i % 2 ? 'out' : 'in', participantId: 'p-alice', message: JSON.stringify(m) }) +
          '\n',
      )
      .join(''),
  );
  return dir;
}

/** Ordinary signaling, with an opaque E2EE relay payload in base64url like the real one. */
export function ordinarySignaling(): object[] {
  const opaque = Buffer.from(Uint8Array.from({ length: 120 }, (_, i) => (i * 97 + 13) & 0xff)).toString('base64url');
  return [
    { type: 'join', id: 1, meetingId: 'm1' },
    { type: 'response', id: 1, ok: true, result: { participantId: 'p-alice' } },
    { type: 'relay', to: 'p-bob', payload: opaque },
    { type: 'produce', id: 2, kind: 'video', rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 101 }] } },
  ];
}
