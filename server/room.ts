// One meeting instance: a mediasoup router, its participants and their
// transports, producers and consumers. The room relays E2EE protocol payloads
// as opaque strings and never looks inside them.

import { randomBytes } from 'node:crypto';
import type { types as ms } from 'mediasoup';
import {
  LIMITS,
  type ConsumeResult,
  type ErrorCode,
  type JsonObject,
  type MediaKind,
  type MediaSource,
  type MeetingMode,
  type PeerInfo,
  type ProducerInfo,
  type ServerNotice,
  type TransportDirection,
  type TransportResult,
} from '../shared/protocol/signaling.ts';
import type { Logger } from './log.ts';

/** A typed failure the signaling layer turns into an error reply. */
export class RoomError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Only VP8/VP9 and Opus: their frame layouts are what the E2EE layer knows. */
export const MEDIA_CODECS: ms.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 100 },
  {
    kind: 'video',
    mimeType: 'video/VP8',
    clockRate: 90000,
    preferredPayloadType: 101,
    parameters: { 'x-google-start-bitrate': 1000 },
  },
  {
    kind: 'video',
    mimeType: 'video/VP9',
    clockRate: 90000,
    preferredPayloadType: 103,
    parameters: { 'profile-id': 0, 'x-google-start-bitrate': 1000 },
  },
];

export interface RoomObserver {
  producerCreated?(room: Room, participant: Participant, producer: ms.Producer, source: MediaSource): void;
  /** The room's media moved to a new router (its worker died); what was made on the old one is gone. */
  routerReplaced?(room: Room): void;
  roomClosed?(room: Room): void;
}

export interface Peer {
  send(msg: ServerNotice): void;
  /** Ends this participant's connection with a reason it can show. */
  disconnect(code: ErrorCode, message: string): void;
}

interface ProducerEntry {
  producer: ms.Producer;
  source: MediaSource;
}

export class Participant {
  readonly transports = new Map<string, ms.WebRtcTransport>();
  readonly producers = new Map<string, ProducerEntry>();
  readonly consumers = new Map<string, ms.Consumer>();
  constructor(
    readonly id: string,
    readonly peer: Peer,
  ) {}

  info(): PeerInfo {
    return { participantId: this.id };
  }
}

export interface RoomOptions {
  listenIp: string;
  announcedAddress?: string;
  /** A second address media listens on (see ServerConfig's localListenIp). */
  localListenIp?: string;
  observer?: RoomObserver;
  log: Logger;
}

export function randomId(bytes = 12): string {
  return randomBytes(bytes).toString('base64url');
}

export class Room {
  readonly instanceId = randomId(16);
  /** Map insertion order is join order. */
  readonly participants = new Map<string, Participant>();
  private closed = false;
  private speakerObserver?: Promise<ms.ActiveSpeakerObserver>;

  constructor(
    readonly meetingId: string,
    readonly mode: MeetingMode,
    private currentRouter: ms.Router,
    private readonly opts: RoomOptions,
  ) {}

  get router(): ms.Router {
    return this.currentRouter;
  }

  /**
   * Moves the meeting onto a new router after its worker died. Everyone stays
   * in the meeting (and the meeting keeps its instance, so its keys stay
   * valid); their transports, producers and consumers died with the worker,
   * so each is told to set up media again.
   */
  async moveTo(router: ms.Router): Promise<void> {
    if (this.closed) {
      router.close();
      return;
    }
    const old = this.currentRouter;
    this.currentRouter = router;
    this.speakerObserver = undefined;
    if (!old.closed) old.close();
    for (const p of this.participants.values()) {
      p.transports.clear();
      p.producers.clear();
      p.consumers.clear();
    }
    this.opts.observer?.routerReplaced?.(this);
    this.broadcast({ type: 'media-restart', routerRtpCapabilities: router.rtpCapabilities as unknown as JsonObject });
    await Promise.resolve();
  }

  /** New ICE credentials for one of the participant's transports (it asks after its connection failed). */
  async restartIce(p: Participant, transportId: string): Promise<JsonObject> {
    const t = this.transport(p, transportId);
    return (await mediaCall(() => t.restartIce())) as unknown as JsonObject;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get capacity(): number {
    return this.mode === 'call' ? 2 : LIMITS.maxParticipantsPerMeeting;
  }

  join(id: string, peer: Peer): Participant {
    if (this.closed) throw new RoomError('INTERNAL', 'meeting is closing, try again');
    if (this.participants.size >= this.capacity) {
      throw this.mode === 'call'
        ? new RoomError('CALL_FULL', 'this one-on-one call already has two people')
        : new RoomError('MEETING_FULL', `this meeting is full (${this.capacity} participants)`);
    }
    const p = new Participant(id, peer);
    this.broadcast({ type: 'participant-joined', participantId: id }, id);
    this.participants.set(id, p);
    this.opts.log.info(`meeting ${this.meetingId}: ${id} joined (${this.participants.size} present)`);
    return p;
  }

  peersExcept(id: string): PeerInfo[] {
    return [...this.participants.values()].filter((p) => p.id !== id).map((p) => p.info());
  }

  producersExcept(id: string): ProducerInfo[] {
    const out: ProducerInfo[] = [];
    for (const p of this.participants.values()) {
      if (p.id === id) continue;
      for (const { producer, source } of p.producers.values()) {
        out.push({ participantId: p.id, producerId: producer.id, kind: producer.kind, source, paused: producer.paused });
      }
    }
    return out;
  }

  leave(id: string): void {
    const p = this.participants.get(id);
    if (!p) return;
    this.participants.delete(id);
    // Closing transports closes their producers and consumers; other
    // participants' consumers of those producers get 'producerclose'.
    for (const t of p.transports.values()) t.close();
    this.broadcast({ type: 'participant-left', participantId: id });
    this.opts.log.info(`meeting ${this.meetingId}: ${id} left (${this.participants.size} present)`);
  }

  async createTransport(p: Participant, direction: TransportDirection): Promise<TransportResult> {
    if (p.transports.size >= 4) throw new RoomError('BAD_MESSAGE', 'too many transports for one participant');
    const listenAt = [{ ip: this.opts.listenIp, announcedAddress: this.opts.announcedAddress }];
    if (this.opts.localListenIp) listenAt.push({ ip: this.opts.localListenIp, announcedAddress: undefined });
    const transport = await this.router.createWebRtcTransport({
      listenInfos: listenAt.flatMap((at) => [
        { protocol: 'udp' as const, ...at },
        { protocol: 'tcp' as const, ...at },
      ]),
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
      appData: { direction, participantId: p.id },
    });
    p.transports.set(transport.id, transport);
    transport.observer.on('close', () => p.transports.delete(transport.id));
    return {
      transportId: transport.id,
      iceParameters: transport.iceParameters as unknown as JsonObject,
      iceCandidates: transport.iceCandidates as unknown as JsonObject[],
      dtlsParameters: transport.dtlsParameters as unknown as JsonObject,
    };
  }

  private transport(p: Participant, transportId: string, direction?: TransportDirection): ms.WebRtcTransport {
    const t = p.transports.get(transportId);
    if (!t) throw new RoomError('UNKNOWN_TRANSPORT', 'no such transport');
    if (direction && t.appData['direction'] !== direction) {
      throw new RoomError('BAD_MESSAGE', `transport is not a ${direction} transport`);
    }
    return t;
  }

  async connectTransport(p: Participant, transportId: string, dtlsParameters: JsonObject): Promise<void> {
    const t = this.transport(p, transportId);
    await mediaCall(() => t.connect({ dtlsParameters: dtlsParameters as unknown as ms.DtlsParameters }));
  }

  async produce(p: Participant, transportId: string, kind: MediaKind, source: MediaSource, rtpParameters: JsonObject): Promise<string> {
    const t = this.transport(p, transportId, 'send');
    if ((source === 'mic') !== (kind === 'audio')) throw new RoomError('BAD_MESSAGE', `source ${source} cannot be ${kind}`);
    for (const e of p.producers.values()) {
      if (e.source === source) throw new RoomError('BAD_MESSAGE', `already producing ${source}`);
    }
    const codecs = (rtpParameters as { codecs?: unknown }).codecs;
    const mime =
      Array.isArray(codecs) && typeof (codecs[0] as { mimeType?: unknown })?.mimeType === 'string'
        ? (codecs[0] as { mimeType: string }).mimeType
        : '';
    if (!mime.toLowerCase().startsWith(`${kind}/`)) throw new RoomError('BAD_MESSAGE', `rtpParameters codec '${mime}' is not ${kind}`);
    const producer = await mediaCall(() =>
      t.produce({ kind, rtpParameters: rtpParameters as unknown as ms.RtpParameters, appData: { source, participantId: p.id } }),
    );
    p.producers.set(producer.id, { producer, source });
    producer.observer.on('close', () => p.producers.delete(producer.id));
    if (kind === 'audio') void this.observeSpeaker(producer);
    this.opts.observer?.producerCreated?.(this, p, producer, source);
    this.broadcast({ type: 'producer-added', participantId: p.id, producerId: producer.id, kind, source, paused: producer.paused }, p.id);
    return producer.id;
  }

  /** Dominant-speaker detection for the UI, from the audio-level header extension. */
  private async observeSpeaker(producer: ms.Producer): Promise<void> {
    try {
      if (!this.speakerObserver) {
        this.speakerObserver = this.router.createActiveSpeakerObserver({ interval: 300 });
        const obs = await this.speakerObserver;
        obs.on('dominantspeaker', ({ producer: loud }) => {
          const id = loud.appData['participantId'];
          if (typeof id === 'string' && this.participants.has(id)) this.broadcast({ type: 'active-speaker', participantId: id });
        });
      }
      await (await this.speakerObserver).addProducer({ producerId: producer.id });
    } catch (e) {
      if (!this.closed) this.opts.log.warn(`speaker detection unavailable: ${String(e)}`);
    }
  }

  closeProducer(p: Participant, producerId: string): void {
    const e = p.producers.get(producerId);
    if (!e) throw new RoomError('UNKNOWN_PRODUCER', 'no such producer of yours');
    e.producer.close();
    this.broadcast({ type: 'producer-closed', participantId: p.id, producerId }, p.id);
  }

  async setProducerPaused(p: Participant, producerId: string, paused: boolean): Promise<void> {
    const e = p.producers.get(producerId);
    if (!e) throw new RoomError('UNKNOWN_PRODUCER', 'no such producer of yours');
    await (paused ? e.producer.pause() : e.producer.resume());
    this.broadcast({ type: 'producer-paused', participantId: p.id, producerId, paused }, p.id);
  }

  private findProducer(producerId: string): { owner: Participant; entry: ProducerEntry } | undefined {
    for (const owner of this.participants.values()) {
      const entry = owner.producers.get(producerId);
      if (entry) return { owner, entry };
    }
    return undefined;
  }

  async consume(p: Participant, transportId: string, producerId: string, rtpCapabilities: JsonObject): Promise<ConsumeResult> {
    const t = this.transport(p, transportId, 'recv');
    const found = this.findProducer(producerId);
    if (!found) throw new RoomError('UNKNOWN_PRODUCER', 'no such producer in this meeting');
    if (found.owner.id === p.id) throw new RoomError('CANNOT_CONSUME', 'cannot consume your own producer');
    const caps = rtpCapabilities as unknown as ms.RtpCapabilities;
    let can = false;
    try {
      can = this.router.canConsume({ producerId, rtpCapabilities: caps });
    } catch {
      can = false;
    }
    if (!can) throw new RoomError('CANNOT_CONSUME', 'your device cannot receive this producer');
    for (const c of p.consumers.values()) {
      if (c.producerId === producerId) throw new RoomError('BAD_MESSAGE', 'already consuming this producer');
    }
    if (p.consumers.size >= 4 * LIMITS.maxParticipantsPerMeeting) throw new RoomError('BAD_MESSAGE', 'too many consumers');
    // Paused until the client says its receiver (and decryption) is attached.
    const consumer = await mediaCall(() =>
      t.consume({ producerId, rtpCapabilities: caps, paused: true, appData: { participantId: found.owner.id } }),
    );
    p.consumers.set(consumer.id, consumer);
    consumer.observer.on('close', () => p.consumers.delete(consumer.id));
    consumer.on('producerclose', () => {
      consumer.close();
      p.peer.send({ type: 'consumer-closed', consumerId: consumer.id });
    });
    consumer.on('transportclose', () => consumer.close());
    return {
      consumerId: consumer.id,
      producerId,
      participantId: found.owner.id,
      kind: consumer.kind,
      source: found.entry.source,
      rtpParameters: consumer.rtpParameters as unknown as JsonObject,
    };
  }

  private consumer(p: Participant, consumerId: string): ms.Consumer {
    const c = p.consumers.get(consumerId);
    if (!c) throw new RoomError('UNKNOWN_CONSUMER', 'no such consumer of yours');
    return c;
  }

  async resumeConsumer(p: Participant, consumerId: string): Promise<void> {
    const c = this.consumer(p, consumerId);
    await c.resume();
    // A decoder can only start on a keyframe.
    if (c.kind === 'video') await c.requestKeyFrame();
  }

  async requestKeyFrame(p: Participant, consumerId: string): Promise<void> {
    const c = this.consumer(p, consumerId);
    if (c.kind === 'video') await c.requestKeyFrame();
  }

  relay(from: Participant, to: string | null, payload: string): void {
    const msg: ServerNotice = { type: 'relay', from: from.id, payload };
    if (to === null) {
      this.broadcast(msg, from.id);
      return;
    }
    const target = this.participants.get(to);
    if (!target) throw new RoomError('UNKNOWN_PARTICIPANT', 'no such participant in this meeting');
    target.peer.send(msg);
  }

  broadcast(msg: ServerNotice, exceptId?: string): void {
    for (const p of this.participants.values()) if (p.id !== exceptId) p.peer.send(msg);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.router.close();
    this.opts.observer?.roomClosed?.(this);
  }
}

/** mediasoup rejects bad RTP/DTLS parameters with TypeError: report it as a client error. */
async function mediaCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RoomError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new RoomError('MEDIA_ERROR', msg.slice(0, 200));
  }
}
