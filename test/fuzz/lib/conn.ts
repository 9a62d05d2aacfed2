// One fuzzing connection (FuzzConn): what it sent, how the validator judged
// each message, and the replies it got; ConnState tracks what the server holds
// for it, as far as its replies tell. Arena is what all fuzzers share.

import {
  type ClientMessage,
  type ErrorNotice,
  type JsonObject,
  type ResponseErr,
  type ResponseOk,
  type ServerMessage,
  type ServerNotice,
} from '../../../shared/protocol/signaling.ts';
import { parseClientMessage, type Parsed } from '../../../shared/protocol/validate.ts';
import WebSocket from 'ws';

// ---------------------------------------------------------------- what a connection did

/** The server-side state of one connection, as far as its replies tell. */
export class ConnState {
  joined = false;
  meetingId: string | undefined;
  participantId: string | undefined;
  routerCaps: JsonObject | undefined;
  readonly transports = new Map<string, 'send' | 'recv'>();
  readonly producers = new Set<string>();
  readonly consumers = new Set<string>();

  /** Applies a successful response to `req`. */
  apply(req: ClientMessage, data: unknown): void {
    const d = data as Record<string, unknown>;
    switch (req.type) {
      case 'join':
        this.reset();
        this.joined = true;
        this.meetingId = req.meetingId;
        this.participantId = String(d['participantId']);
        this.routerCaps = d['routerRtpCapabilities'] as JsonObject;
        break;
      case 'leave':
        this.reset();
        break;
      case 'create-transport':
        this.transports.set(String(d['transportId']), req.direction);
        break;
      case 'produce':
        this.producers.add(String(d['producerId']));
        break;
      case 'close-producer':
        this.producers.delete(req.producerId);
        break;
      case 'consume':
        this.consumers.add(String(d['consumerId']));
        break;
      default:
        break;
    }
  }

  private reset(): void {
    this.joined = false;
    this.meetingId = undefined;
    this.participantId = undefined;
    this.transports.clear();
    this.producers.clear();
    this.consumers.clear();
  }
}

/** What the whole run shares: the meeting under test and the ids the fuzzers made up. */
export interface Arena {
  meetingId: string;
  memberIds: string[];
  memberTransports: string[];
  memberProducer: string;
  fuzzMeetings: string[];
  /** UUIDs and participant ids invented by the fuzzers: the server never issued them. */
  invented: Set<string>;
  /** Participant ids fuzzers got when joining M (members may hear of these and no others). */
  fuzzersInM: Set<string>;
  /** Every producer a fuzzer or member made (the generator aims at them). */
  producers: Set<string>;
  sweep: Array<{ type: string; field: string; value: unknown }>;
  sweepAt: number;
}

export type Reply = ResponseOk | ResponseErr | ErrorNotice;

export interface Sent {
  intent: string;
  binary: boolean;
  bytes: number;
  /** The validator's verdict on the text exactly as the server decodes it. */
  parsed?: Parsed<ClientMessage>;
}

export interface Outgoing {
  intent: string;
  text?: string;
  binary?: Uint8Array;
}

export class FuzzConn {
  readonly sent: Sent[] = [];
  /** Replies the server sends while reading the message (parse errors, rate limit, binary): in order. */
  readonly immediate: Reply[] = [];
  /** Responses to valid messages, by id. */
  readonly responses = new Map<number, ResponseOk | ResponseErr>();
  readonly strays: string[] = [];
  readonly notices: ServerNotice[] = [];
  readonly live = new ConnState();
  readonly script: Outgoing[] = [];
  private readonly requests = new Map<number, ClientMessage>();
  private readonly usedIds = new Set<number>();
  nextId = 1;
  peers = new Set<string>();
  closed: { code: number; reason: string } | undefined;

  private constructor(
    readonly name: string,
    readonly ws: WebSocket,
    private readonly arena: Arena,
  ) {
    ws.on('message', (raw) => this.onMessage(String(raw)));
    ws.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
  }

  static async open(url: string, name: string, arena: Arena): Promise<FuzzConn> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new FuzzConn(name, ws, arena);
  }

  get replies(): number {
    return this.immediate.length + this.responses.size;
  }

  private onMessage(raw: string): void {
    const msg = JSON.parse(raw) as ServerMessage;
    if (msg.type === 'response') {
      const req = this.requests.get(msg.id);
      if (!req) {
        this.immediate.push(msg);
        return;
      }
      if (this.responses.has(msg.id)) this.strays.push(`second response to id ${msg.id}`);
      this.responses.set(msg.id, msg);
      if (msg.ok) {
        this.live.apply(req, msg.data);
        const d = msg.data as Record<string, unknown>;
        if (req.type === 'join') {
          if (req.meetingId === this.arena.meetingId) this.arena.fuzzersInM.add(String(d['participantId']));
          this.peers = new Set((d['peers'] as Array<{ participantId: string }>).map((p) => p.participantId));
          for (const p of d['producers'] as Array<{ producerId: string }>) this.arena.producers.add(p.producerId);
        }
        if (req.type === 'produce') this.arena.producers.add(String(d['producerId']));
      }
      return;
    }
    if (msg.type === 'error') {
      this.immediate.push(msg);
      return;
    }
    this.notices.push(msg);
    if (msg.type === 'participant-joined') this.peers.add(msg.participantId);
    if (msg.type === 'participant-left') this.peers.delete(msg.participantId);
    if (msg.type === 'producer-added') this.arena.producers.add(msg.producerId);
  }

  /** Sends one message; false if its id was already used (the caller makes another). */
  send(out: Outgoing): boolean {
    if (out.binary) {
      this.ws.send(out.binary, { binary: true });
      this.sent.push({ intent: out.intent, binary: true, bytes: out.binary.length });
      return true;
    }
    const text = out.text ?? '';
    const wire = Buffer.from(text, 'utf8');
    // What the server will see: lone surrogates, for one, arrive as U+FFFD.
    const parsed = parseClientMessage(wire.toString('utf8'));
    const id = parsed.ok ? parsed.value.id : parsed.error.id;
    if (id !== undefined) {
      if (this.usedIds.has(id)) return false;
      this.usedIds.add(id);
      if (parsed.ok) this.requests.set(id, parsed.value);
    }
    this.ws.send(text);
    this.sent.push({ intent: out.intent, binary: false, bytes: wire.length, parsed });
    return true;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
