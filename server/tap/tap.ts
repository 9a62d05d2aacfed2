// Tap mode (security testing): records everything this server can observe of
// each meeting instance — every signaling message in and out, and every RTP
// packet it forwards, per producer, exactly as the SFU has it — so a tester
// can check for themselves that none of it is plaintext media or key material.
//
// Layout:  DIR/<meetingId>-<instanceId>/
//            signaling.jsonl          {t, dir, participantId, message}
//            producers/<id>.pcap      RTP in synthesised IPv4/UDP (LINKTYPE_RAW)
//            index.json               producer → participant, kind, codec, PT, clock rate, UDP port

import fs from 'node:fs';
import path from 'node:path';
import type { types as ms } from 'mediasoup';
import type { MediaSource } from '../../shared/protocol/signaling.ts';
import type { Logger } from '../log.ts';
import type { Participant, Room, RoomObserver } from '../room.ts';
import type { SignalObserver } from '../connection.ts';
import { pcapGlobalHeader, pcapRecord, type Endpoint } from './pcap.ts';

export interface TapProducerEntry {
  producerId: string;
  /** Opaque: the server has no names (they travel sealed with the meeting link). */
  participantId: string;
  kind: 'audio' | 'video';
  source: MediaSource;
  codec: string;
  payloadType: number;
  clockRate: number;
  /** Destination UDP port in the pcap: decode this port as RTP. */
  udpPort: number;
  file: string;
  packets: number;
  bytes: number;
}

export interface TapIndex {
  meetingId: string;
  instanceId: string;
  startedAt: string;
  producers: TapProducerEntry[];
}

const SERVER_EP: Endpoint = { ip: [10, 0, 0, 1], port: 40000 };

class RoomTap {
  readonly dir: string;
  private readonly signaling: fs.WriteStream;
  private readonly index: TapIndex;
  private direct?: Promise<ms.DirectTransport>;
  private readonly streams: fs.WriteStream[] = [];
  private ipId = 0;

  constructor(
    root: string,
    private readonly room: Room,
    private readonly log: Logger,
  ) {
    this.dir = path.join(root, `${room.meetingId}-${room.instanceId}`);
    fs.mkdirSync(path.join(this.dir, 'producers'), { recursive: true });
    this.signaling = fs.createWriteStream(path.join(this.dir, 'signaling.jsonl'), { flags: 'a' });
    this.index = { meetingId: room.meetingId, instanceId: room.instanceId, startedAt: new Date().toISOString(), producers: [] };
    this.writeIndex();
  }

  signal(participantId: string, direction: 'in' | 'out', message: string): void {
    this.signaling.write(JSON.stringify({ t: Date.now(), dir: direction, participantId, message }) + '\n');
  }

  async producer(participant: Participant, producer: ms.Producer, source: MediaSource): Promise<void> {
    this.direct ??= this.room.router.createDirectTransport();
    const direct = await this.direct;
    // A consumer on a DirectTransport hands us each RTP packet as the SFU forwards it.
    const consumer = await direct.consume({ producerId: producer.id, rtpCapabilities: this.room.router.rtpCapabilities });
    const codec = consumer.rtpParameters.codecs[0]!;
    const udpPort = 50000 + this.index.producers.length * 2;
    const file = path.join('producers', `${producer.id}.pcap`);
    const entry: TapProducerEntry = {
      producerId: producer.id,
      participantId: participant.id,
      kind: producer.kind,
      source,
      codec: codec.mimeType,
      payloadType: codec.payloadType,
      clockRate: codec.clockRate,
      udpPort,
      file,
      packets: 0,
      bytes: 0,
    };
    this.index.producers.push(entry);
    this.writeIndex();
    const out = fs.createWriteStream(path.join(this.dir, file));
    this.streams.push(out);
    out.write(pcapGlobalHeader());
    const src: Endpoint = { ip: [10, 0, 0, 1], port: SERVER_EP.port };
    const dst: Endpoint = { ip: [10, 0, 1, 1 + (this.index.producers.length % 250)], port: udpPort };
    consumer.on('rtp', (packet: Buffer) => {
      entry.packets++;
      entry.bytes += packet.length;
      out.write(pcapRecord(packet, Date.now(), src, dst, this.ipId++));
    });
    consumer.on('producerclose', () => {
      consumer.close();
      this.writeIndex();
    });
  }

  /** The old router's direct transport died with it: the next producer gets one on the new router. */
  routerReplaced(): void {
    this.direct = undefined;
  }

  private writeIndex(): void {
    fs.writeFileSync(path.join(this.dir, 'index.json'), JSON.stringify(this.index, null, 2));
  }

  async close(): Promise<void> {
    this.writeIndex();
    const all = [this.signaling, ...this.streams];
    await Promise.all(all.map((s) => new Promise<void>((r) => s.end(() => r()))));
    this.log.info(`tap: meeting ${this.room.meetingId} recorded in ${this.dir}`);
  }
}

export class Tap implements SignalObserver, RoomObserver {
  private readonly rooms = new Map<Room, RoomTap>();
  private readonly closing: Promise<void>[] = [];

  constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    log.warn(`TAP MODE: recording every signaling message and forwarded RTP packet into ${dir}`);
  }

  private for(room: Room): RoomTap {
    let t = this.rooms.get(room);
    if (!t) {
      t = new RoomTap(this.dir, room, this.log);
      this.rooms.set(room, t);
    }
    return t;
  }

  signal(room: Room, participantId: string, direction: 'in' | 'out', message: string): void {
    this.for(room).signal(participantId, direction, message);
  }

  producerCreated(room: Room, participant: Participant, producer: ms.Producer, source: MediaSource): void {
    this.for(room)
      .producer(participant, producer, source)
      .catch((e: unknown) => this.log.error(`tap: cannot record producer ${producer.id}: ${String(e)}`));
  }

  routerReplaced(room: Room): void {
    this.rooms.get(room)?.routerReplaced();
  }

  roomClosed(room: Room): void {
    const t = this.rooms.get(room);
    if (!t) return;
    this.rooms.delete(room);
    this.closing.push(t.close());
  }

  /** Directories of meetings recorded so far (open or closed). */
  async close(): Promise<void> {
    for (const t of this.rooms.values()) this.closing.push(t.close());
    this.rooms.clear();
    await Promise.all(this.closing);
  }
}
