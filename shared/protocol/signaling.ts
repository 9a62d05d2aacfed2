// The signaling channel between a browser and the server: one discriminated
// union per direction. mediasoup's own parameter objects (RTP/DTLS/ICE) travel
// as opaque JSON objects here; the server hands them to mediasoup, which
// validates them again.

import { MAX_DISPLAY_NAME } from '../display-name.ts';

export const PROTOCOL_VERSION = 1;

/** Bounds enforced by the server on every connection (documented in README). */
export const LIMITS = {
  /** Largest WebSocket message accepted, in bytes; larger ones get TOO_LARGE. */
  maxMessageBytes: 256 * 1024,
  /** Beyond this the socket itself closes with 1009 (the message is not even read). */
  maxFrameBytes: 1024 * 1024,
  /** Largest opaque relay payload, in characters: the one definition; E2EE messages fragment to fit it. */
  maxRelayPayload: 64 * 1024,
  /** Token bucket per connection: sustained messages per second and burst. */
  ratePerSecond: 200,
  rateBurst: 1000,
  maxNameLength: MAX_DISPLAY_NAME,
  maxParticipantsPerMeeting: 250,
} as const;

export type JsonObject = { [key: string]: unknown };

export type MediaKind = 'audio' | 'video';
export type MediaSource = 'mic' | 'camera' | 'screen';
export type TransportDirection = 'send' | 'recv';
export type MeetingMode = 'meeting' | 'call';

// ---------------------------------------------------------------- client → server

export interface JoinRequest {
  type: 'join';
  v: number;
  meetingId: string;
  // No display name: names travel only inside the E2EE announcements, sealed with the meeting link.
  /** 'call' rooms admit exactly two participants. */
  mode: MeetingMode;
}
export interface CreateTransportRequest {
  type: 'create-transport';
  direction: TransportDirection;
}
export interface ConnectTransportRequest {
  type: 'connect-transport';
  transportId: string;
  dtlsParameters: JsonObject;
}
export interface ProduceRequest {
  type: 'produce';
  transportId: string;
  kind: MediaKind;
  source: MediaSource;
  rtpParameters: JsonObject;
}
export interface CloseProducerRequest {
  type: 'close-producer';
  producerId: string;
}
export interface SetProducerPausedRequest {
  type: 'set-producer-paused';
  producerId: string;
  paused: boolean;
}
export interface ConsumeRequest {
  type: 'consume';
  transportId: string;
  producerId: string;
  rtpCapabilities: JsonObject;
}
export interface ResumeConsumerRequest {
  type: 'resume-consumer';
  consumerId: string;
}
export interface RequestKeyFrameRequest {
  type: 'request-keyframe';
  consumerId: string;
}
export interface RelayRequest {
  type: 'relay';
  /** A participant ID, or null for everyone else in the meeting. */
  to: string | null;
  /** Opaque to the server: the E2EE protocol travels here. */
  payload: string;
}
export interface LeaveRequest {
  type: 'leave';
}
/** New ICE credentials for one of our transports (after its connection failed or a network change). */
export interface RestartIceRequest {
  type: 'restart-ice';
  transportId: string;
}

export type ClientRequestBody =
  | JoinRequest
  | CreateTransportRequest
  | ConnectTransportRequest
  | ProduceRequest
  | CloseProducerRequest
  | SetProducerPausedRequest
  | ConsumeRequest
  | ResumeConsumerRequest
  | RequestKeyFrameRequest
  | RelayRequest
  | LeaveRequest
  | RestartIceRequest;

/** Every client message carries a request id; the server answers each one. */
export type ClientMessage = ClientRequestBody & { id: number };

export type ClientRequestType = ClientRequestBody['type'];

// ---------------------------------------------------------------- responses

export interface PeerInfo {
  participantId: string;
}
export interface ProducerInfo {
  participantId: string;
  producerId: string;
  kind: MediaKind;
  source: MediaSource;
  paused: boolean;
}

export interface JoinResult {
  participantId: string;
  meetingId: string;
  /** Random per instance of the meeting (a new room gets a new one). */
  instanceId: string;
  mode: MeetingMode;
  routerRtpCapabilities: JsonObject;
  /** Participants already present, in join order. */
  peers: PeerInfo[];
  producers: ProducerInfo[];
  /** True when the server records what it sees (tap mode): the UI must say so. */
  tapping: boolean;
  protocolVersion: number;
}
export interface TransportResult {
  transportId: string;
  iceParameters: JsonObject;
  iceCandidates: JsonObject[];
  dtlsParameters: JsonObject;
}
export interface ProduceResult {
  producerId: string;
}
export interface ConsumeResult {
  consumerId: string;
  producerId: string;
  participantId: string;
  kind: MediaKind;
  source: MediaSource;
  rtpParameters: JsonObject;
}
export type EmptyResult = Record<string, never>;
export interface RestartIceResult {
  iceParameters: JsonObject;
}

export interface ResultByRequest {
  join: JoinResult;
  'create-transport': TransportResult;
  'connect-transport': EmptyResult;
  produce: ProduceResult;
  'close-producer': EmptyResult;
  'set-producer-paused': EmptyResult;
  consume: ConsumeResult;
  'resume-consumer': EmptyResult;
  'request-keyframe': EmptyResult;
  relay: EmptyResult;
  leave: EmptyResult;
  'restart-ice': RestartIceResult;
}

// ---------------------------------------------------------------- errors

export type ErrorCode =
  | 'BAD_JSON'
  | 'BAD_MESSAGE'
  | 'TOO_LARGE'
  | 'RATE_LIMITED'
  | 'UNSUPPORTED_VERSION'
  | 'NOT_JOINED'
  | 'ALREADY_JOINED'
  | 'MEETING_FULL'
  | 'CALL_FULL'
  | 'MODE_MISMATCH'
  | 'UNKNOWN_TRANSPORT'
  | 'UNKNOWN_PRODUCER'
  | 'UNKNOWN_CONSUMER'
  | 'UNKNOWN_PARTICIPANT'
  | 'CANNOT_CONSUME'
  | 'MEDIA_ERROR'
  | 'INTERNAL';

export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

// ---------------------------------------------------------------- server → client

export interface ResponseOk<T = unknown> {
  type: 'response';
  id: number;
  ok: true;
  data: T;
}
export interface ResponseErr {
  type: 'response';
  id: number;
  ok: false;
  error: ProtocolError;
}
/** An error for a message the server could not attribute to a request id. */
export interface ErrorNotice {
  type: 'error';
  error: ProtocolError;
}
export interface ParticipantJoined {
  type: 'participant-joined';
  participantId: string;
}
export interface ParticipantLeft {
  type: 'participant-left';
  participantId: string;
}
export interface ProducerAdded extends ProducerInfo {
  type: 'producer-added';
}
export interface ProducerClosed {
  type: 'producer-closed';
  producerId: string;
  participantId: string;
}
export interface ProducerPaused {
  type: 'producer-paused';
  producerId: string;
  participantId: string;
  paused: boolean;
}
export interface ConsumerClosed {
  type: 'consumer-closed';
  consumerId: string;
}
/** The loudest speaker (mediasoup reads the audio-level RTP header extension, which stays in clear). */
export interface ActiveSpeaker {
  type: 'active-speaker';
  participantId: string;
}
export interface RelayDelivery {
  type: 'relay';
  from: string;
  payload: string;
}

/**
 * The server is shutting down (SIGTERM) and will close this connection next:
 * the client says "the server is restarting" and reconnects when it is back.
 */
export interface ServerRestarting {
  type: 'server-restarting';
}
/**
 * The media process of this meeting died and the meeting moved to a fresh
 * one: every transport, producer and consumer is gone. Participants, keys and
 * the signaling connection stay; clients make new transports, publish again
 * and consume what the others publish again.
 */
export interface MediaRestart {
  type: 'media-restart';
  routerRtpCapabilities: JsonObject;
}

export type ServerMessage =
  | ResponseOk
  | ResponseErr
  | ErrorNotice
  | ParticipantJoined
  | ParticipantLeft
  | ProducerAdded
  | ProducerClosed
  | ProducerPaused
  | ConsumerClosed
  | ActiveSpeaker
  | RelayDelivery
  | ServerRestarting
  | MediaRestart;

export type ServerNotice = Exclude<ServerMessage, ResponseOk | ResponseErr>;
