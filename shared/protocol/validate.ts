// Boundary validation for signaling messages. Every inbound message is checked
// here before anything acts on it; a failure is a value with a code, never a throw.

import {
  LIMITS,
  PROTOCOL_VERSION,
  type ClientMessage,
  type ErrorCode,
  type JsonObject,
  type ProtocolError,
  type ServerMessage,
} from './signaling.ts';
import { err, ok, type CodedError, type Result } from '../result.ts';

export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
// mediasoup object ids are UUIDs.
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Why a client message was refused: the protocol error to send back, and the
 * request's id when it could be read, so the reply can be matched to it.
 */
export interface RejectedMessage extends CodedError<ErrorCode> {
  readonly code: ErrorCode;
  readonly message: string;
  readonly id: number | undefined;
}

export type Parsed<T> = Result<T, RejectedMessage>;

/** The error as it goes on the wire (without the request id, which the response carries). */
export function protocolError(r: RejectedMessage): ProtocolError {
  return { code: r.code, message: r.message };
}

function rejected(id: number | undefined, code: ErrorCode, message: string): { readonly ok: false; readonly error: RejectedMessage } {
  return err({ code, message, id });
}

class Invalid {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
  ) {}
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Small field readers: each fails with a message naming the field.
function str(o: JsonObject, k: string, max = 256, pattern?: RegExp): string {
  const v = o[k];
  if (typeof v !== 'string') throw new Invalid('BAD_MESSAGE', `field '${k}' must be a string`);
  if (v.length > max) throw new Invalid('BAD_MESSAGE', `field '${k}' is longer than ${max}`);
  if (pattern && !pattern.test(v)) throw new Invalid('BAD_MESSAGE', `field '${k}' has an invalid format`);
  return v;
}
function oneOf<T extends string>(o: JsonObject, k: string, values: readonly T[]): T {
  const v = o[k];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new Invalid('BAD_MESSAGE', `field '${k}' must be one of ${values.join(', ')}`);
  }
  return v as T;
}
function bool(o: JsonObject, k: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw new Invalid('BAD_MESSAGE', `field '${k}' must be a boolean`);
  return v;
}
function obj(o: JsonObject, k: string): JsonObject {
  const v = o[k];
  if (!isObject(v)) throw new Invalid('BAD_MESSAGE', `field '${k}' must be an object`);
  return v;
}
function uuid(o: JsonObject, k: string): string {
  return str(o, k, 36, UUID_PATTERN);
}

function parseBody(o: JsonObject, id: number): ClientMessage {
  const type = o['type'];
  switch (type) {
    case 'join': {
      const v = o['v'];
      if (v !== PROTOCOL_VERSION) {
        throw new Invalid('UNSUPPORTED_VERSION', `protocol version ${String(v)} is not supported (server speaks ${PROTOCOL_VERSION})`);
      }
      return {
        id,
        type,
        v,
        meetingId: str(o, 'meetingId', 64, ID_PATTERN),
        mode: o['mode'] === undefined ? 'meeting' : oneOf(o, 'mode', ['meeting', 'call'] as const),
      };
    }
    case 'create-transport':
      return { id, type, direction: oneOf(o, 'direction', ['send', 'recv'] as const) };
    case 'connect-transport':
      return { id, type, transportId: uuid(o, 'transportId'), dtlsParameters: obj(o, 'dtlsParameters') };
    case 'produce':
      return {
        id,
        type,
        transportId: uuid(o, 'transportId'),
        kind: oneOf(o, 'kind', ['audio', 'video'] as const),
        source: oneOf(o, 'source', ['mic', 'camera', 'screen'] as const),
        rtpParameters: obj(o, 'rtpParameters'),
      };
    case 'close-producer':
      return { id, type, producerId: uuid(o, 'producerId') };
    case 'set-producer-paused':
      return { id, type, producerId: uuid(o, 'producerId'), paused: bool(o, 'paused') };
    case 'consume':
      return {
        id,
        type,
        transportId: uuid(o, 'transportId'),
        producerId: uuid(o, 'producerId'),
        rtpCapabilities: obj(o, 'rtpCapabilities'),
      };
    case 'resume-consumer':
      return { id, type, consumerId: uuid(o, 'consumerId') };
    case 'request-keyframe':
      return { id, type, consumerId: uuid(o, 'consumerId') };
    case 'relay': {
      const to = o['to'] === null ? null : str(o, 'to', 64, ID_PATTERN);
      const payload = o['payload'];
      if (typeof payload !== 'string') throw new Invalid('BAD_MESSAGE', `field 'payload' must be a string`);
      if (payload.length === 0) throw new Invalid('BAD_MESSAGE', `field 'payload' is empty`);
      if (payload.length > LIMITS.maxRelayPayload) {
        throw new Invalid('TOO_LARGE', `relay payload is longer than ${LIMITS.maxRelayPayload} characters`);
      }
      return { id, type, to, payload };
    }
    case 'leave':
      return { id, type };
    case 'restart-ice':
      return { id, type, transportId: uuid(o, 'transportId') };
    default:
      throw new Invalid('BAD_MESSAGE', `unknown message type ${JSON.stringify(String(type)).slice(0, 80)}`);
  }
}

/** Parses and validates one raw message from a client (byteLength: its UTF-8 size, if known). */
export function parseClientMessage(raw: string, byteLength = raw.length): Parsed<ClientMessage> {
  if (byteLength > LIMITS.maxMessageBytes || raw.length > LIMITS.maxMessageBytes) {
    return rejected(undefined, 'TOO_LARGE', `message larger than ${LIMITS.maxMessageBytes} bytes`);
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return rejected(undefined, 'BAD_JSON', 'message is not valid JSON');
  }
  if (!isObject(data)) {
    return rejected(undefined, 'BAD_MESSAGE', 'message must be a JSON object');
  }
  const rawId = data['id'];
  const id = typeof rawId === 'number' && Number.isSafeInteger(rawId) && rawId >= 0 ? rawId : undefined;
  if (id === undefined) {
    return rejected(undefined, 'BAD_MESSAGE', "field 'id' must be a non-negative integer");
  }
  try {
    return ok(parseBody(data, id));
  } catch (e) {
    if (e instanceof Invalid) return rejected(id, e.code, e.message);
    return rejected(id, 'BAD_MESSAGE', 'message could not be validated');
  }
}

const SERVER_TYPES = new Set<ServerMessage['type']>([
  'response',
  'error',
  'participant-joined',
  'participant-left',
  'producer-added',
  'producer-closed',
  'producer-paused',
  'consumer-closed',
  'active-speaker',
  'relay',
  'server-restarting',
  'media-restart',
]);

/**
 * Client-side check of a server message's envelope. The server is not trusted
 * with anything secret, but a malformed message must still not crash the app.
 */
export function parseServerMessage(raw: string): ServerMessage | undefined {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isObject(data) || typeof data['type'] !== 'string') return undefined;
  if (!SERVER_TYPES.has(data['type'] as ServerMessage['type'])) return undefined;
  const d = data;
  switch (d['type']) {
    case 'response':
      if (typeof d['id'] !== 'number' || typeof d['ok'] !== 'boolean') return undefined;
      break;
    case 'relay':
      if (typeof d['from'] !== 'string' || typeof d['payload'] !== 'string') return undefined;
      break;
    case 'participant-joined':
      if (typeof d['participantId'] !== 'string') return undefined;
      break;
    case 'participant-left':
      if (typeof d['participantId'] !== 'string') return undefined;
      break;
    case 'producer-added':
      if (typeof d['producerId'] !== 'string' || typeof d['participantId'] !== 'string') return undefined;
      break;
    case 'media-restart':
      if (!isObject(d['routerRtpCapabilities'])) return undefined;
      break;
    default:
      break;
  }
  return d as unknown as ServerMessage;
}
