// One signaling connection: validates every inbound message at the boundary,
// applies the rate limit, runs requests in order and answers each with a
// response (or a coded error). Bad input never closes the meeting.

import type { WebSocket } from 'ws';
import {
  LIMITS,
  PROTOCOL_VERSION,
  type ClientMessage,
  type ErrorCode,
  type ServerMessage,
  type ServerNotice,
} from '../shared/protocol/signaling.ts';
import { parseClientMessage, protocolError } from '../shared/protocol/validate.ts';
import type { Logger } from './log.ts';
import { RoomError, randomId, type Participant, type Peer, type Room } from './room.ts';
import type { RoomRegistry } from './rooms.ts';

/** Sees every signaling message of a meeting (the tap uses this). */
export interface SignalObserver {
  signal(room: Room, participantId: string, direction: 'in' | 'out', message: string): void;
}

/** Test-only adversarial server behaviour can rewrite relayed payloads. */
export interface RelayInterceptor {
  relay(room: Room, from: Participant, to: string | null, payload: string): Array<{ to: string | null; payload: string; as?: string }>;
  /** Participants the adversary runs without a connection: relays addressed to them reach relay(). */
  hosts?(room: Room, participantId: string): boolean;
}

/**
 * Test-only adversarial server behaviour can rewrite what one participant is
 * told (its join response, its notices), or withhold it (null).
 */
export interface OutgoingInterceptor {
  outgoing(room: Room, to: Participant, message: ServerMessage): ServerMessage | null;
}

export interface ConnectionDeps {
  registry: RoomRegistry;
  log: Logger;
  tapping: boolean;
  signalObserver?: SignalObserver;
  relayInterceptor?: RelayInterceptor;
  outgoingInterceptor?: OutgoingInterceptor;
}

class TokenBucket {
  private tokens: number;
  private last = Date.now();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(cost = 1): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
}

/**
 * What a frame costs before it is parsed; the rest of a token is charged after, except for a relay to
 * one participant. The server's work grows with deliveries: a relay to one participant is one, a
 * broadcast N − 1, so a leader's per-member key messages (protocol.md §4.3: N − 1 unicasts per epoch,
 * no more deliveries than one broadcast) cost a quarter each, and 250 members fit 3 epochs a second.
 */
const FRAME_COST = 0.25;

export class Connection implements Peer {
  private room?: Room;
  private participant?: Participant;
  private queue: Promise<void> = Promise.resolve();
  private readonly bucket = new TokenBucket(LIMITS.ratePerSecond, LIMITS.rateBurst);
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: ConnectionDeps,
  ) {
    ws.on('message', (data, isBinary) => {
      // Every frame costs part of a token, binary ones too, before any other work (the rest after parsing).
      if (!this.bucket.take(FRAME_COST)) return this.rateLimited();
      if (isBinary) {
        // Never a relay to one participant: the whole token.
        if (!this.bucket.take(1 - FRAME_COST)) this.rateLimited();
        else this.sendRaw({ type: 'error', error: { code: 'BAD_MESSAGE', message: 'binary messages are not accepted' } });
        return;
      }
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      this.onMessage(buf.toString('utf8'), buf.length);
    });
    ws.on('close', () => this.onClose());
    ws.on('error', (e) => deps.log.warn(`signaling socket error: ${e.message}`));
  }

  get participantId(): string | undefined {
    return this.participant?.id;
  }

  private rateLimited(): void {
    this.sendRaw({ type: 'error', error: { code: 'RATE_LIMITED', message: `more than ${LIMITS.ratePerSecond} messages per second` } });
  }

  private onMessage(raw: string, byteLength: number): void {
    const parsed = parseClientMessage(raw, byteLength);
    const unicastRelay = parsed.ok && parsed.value.type === 'relay' && parsed.value.to !== null;
    if (!unicastRelay && !this.bucket.take(1 - FRAME_COST)) return this.rateLimited();
    if (this.room && this.participant) this.deps.signalObserver?.signal(this.room, this.participant.id, 'in', raw);
    if (!parsed.ok) {
      this.deps.log.debug(`rejected message: ${parsed.error.code} ${parsed.error.message}`);
      const { id } = parsed.error;
      const error = protocolError(parsed.error);
      if (id === undefined) this.sendRaw({ type: 'error', error });
      else this.sendRaw({ type: 'response', id, ok: false, error });
      return;
    }
    const msg = parsed.value;
    // Requests run one at a time, in order, so a client can pipeline them.
    this.queue = this.queue.then(() => this.run(msg));
  }

  private async run(msg: ClientMessage): Promise<void> {
    if (this.closed && msg.type !== 'leave') return;
    try {
      const data = await this.handle(msg);
      this.sendRaw({ type: 'response', id: msg.id, ok: true, data: data ?? {} });
    } catch (e) {
      const error =
        e instanceof RoomError
          ? { code: e.code, message: e.message }
          : { code: 'INTERNAL' as ErrorCode, message: 'the server could not handle this request' };
      if (!(e instanceof RoomError)) this.deps.log.error(`request ${msg.type} failed: ${e instanceof Error ? e.stack : String(e)}`);
      this.sendRaw({ type: 'response', id: msg.id, ok: false, error });
    } finally {
      this.releaseHeldNotices();
    }
  }

  /** Notices held while our join response is not yet written (see join). */
  private heldNotices: ServerNotice[] | null = null;

  private releaseHeldNotices(): void {
    const held = this.heldNotices;
    this.heldNotices = null;
    if (held) for (const n of held) this.sendRaw(n);
  }

  private joined(): { room: Room; p: Participant } {
    if (!this.room || !this.participant) throw new RoomError('NOT_JOINED', 'join a meeting first');
    return { room: this.room, p: this.participant };
  }

  private async handle(msg: ClientMessage): Promise<unknown> {
    if (msg.type === 'join') {
      if (this.room) throw new RoomError('ALREADY_JOINED', 'this connection already joined a meeting');
      // The last member may leave (closing the room) while we wait for it: then make a new one.
      let room = await this.deps.registry.getOrCreate(msg.meetingId, msg.mode);
      for (let i = 0; room.isClosed && i < 3; i++) room = await this.deps.registry.getOrCreate(msg.meetingId, msg.mode);
      const id = randomId(9);
      // From here until our response is written, others may already see us
      // (two joins of a new meeting resume back to back after the shared router
      // creation) and their notices must not overtake the response: the client
      // has no meeting state to apply them to yet, and the peer list in the
      // response must be followed, not preceded, by the changes after it.
      this.heldNotices = [];
      const p = room.join(id, this);
      this.room = room;
      this.participant = p;
      return {
        participantId: id,
        meetingId: room.meetingId,
        instanceId: room.instanceId,
        mode: room.mode,
        routerRtpCapabilities: room.router.rtpCapabilities,
        peers: room.peersExcept(id),
        producers: room.producersExcept(id),
        tapping: this.deps.tapping,
        protocolVersion: PROTOCOL_VERSION,
      };
    }
    const { room, p } = this.joined();
    switch (msg.type) {
      case 'create-transport':
        return room.createTransport(p, msg.direction);
      case 'connect-transport':
        return room.connectTransport(p, msg.transportId, msg.dtlsParameters);
      case 'produce':
        return { producerId: await room.produce(p, msg.transportId, msg.kind, msg.source, msg.rtpParameters) };
      case 'close-producer':
        return room.closeProducer(p, msg.producerId);
      case 'set-producer-paused':
        return room.setProducerPaused(p, msg.producerId, msg.paused);
      case 'consume':
        return room.consume(p, msg.transportId, msg.producerId, msg.rtpCapabilities);
      case 'resume-consumer':
        return room.resumeConsumer(p, msg.consumerId);
      case 'request-keyframe':
        return room.requestKeyFrame(p, msg.consumerId);
      case 'relay':
        return this.relay(room, p, msg.to, msg.payload);
      case 'leave':
        this.leaveRoom();
        return {};
      case 'restart-ice':
        return { iceParameters: await room.restartIce(p, msg.transportId) };
    }
  }

  private relay(room: Room, p: Participant, to: string | null, payload: string): void {
    const interceptor = this.deps.relayInterceptor;
    if (!interceptor) {
      room.relay(p, to, payload);
      return;
    }
    if (to !== null && !room.participants.has(to) && !interceptor.hosts?.(room, to)) {
      throw new RoomError('UNKNOWN_PARTICIPANT', 'no such participant in this meeting');
    }
    for (const out of interceptor.relay(room, p, to, payload)) {
      const msg: ServerNotice = { type: 'relay', from: out.as ?? p.id, payload: out.payload };
      if (out.to === null) room.broadcast(msg, p.id);
      else room.participants.get(out.to)?.peer.send(msg);
    }
  }

  send(msg: ServerNotice): void {
    if (this.heldNotices) this.heldNotices.push(msg);
    else this.sendRaw(msg);
  }

  private sendRaw(message: ServerMessage): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const interceptor = this.deps.outgoingInterceptor;
    const msg = interceptor && this.room && this.participant ? interceptor.outgoing(this.room, this.participant, message) : message;
    if (!msg) return;
    const raw = JSON.stringify(msg);
    if (this.room && this.participant) this.deps.signalObserver?.signal(this.room, this.participant.id, 'out', raw);
    this.ws.send(raw);
  }

  disconnect(code: ErrorCode, message: string): void {
    this.sendRaw({ type: 'error', error: { code, message } });
    this.leaveRoom();
    this.ws.close(1011, message.slice(0, 120));
  }

  /**
   * The server is shutting down: say so (the client shows "the server is
   * restarting" and reconnects when it is back), then close with 1012
   * (service restart). Resolves when the socket closed, or after `graceMs`.
   */
  shutDown(graceMs: number): Promise<void> {
    if (this.ws.readyState !== this.ws.OPEN) return Promise.resolve();
    this.sendRaw({ type: 'server-restarting' });
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, graceMs);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.close(1012, 'server restarting');
    });
  }

  private leaveRoom(): void {
    if (this.room && this.participant) this.deps.registry.leave(this.room, this.participant.id);
    this.room = undefined;
    this.participant = undefined;
  }

  private onClose(): void {
    this.closed = true;
    // Let queued requests finish first so nothing they create outlives us.
    this.queue = this.queue.then(() => this.leaveRoom());
  }
}
