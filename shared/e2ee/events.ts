// Public types of MeetingKeyAgent: its options and the events it emits.

import type { E2eeErrorCode } from './errors.ts';
import type { IdentityKeyPair } from './identity.ts';
import type { RandomBytes } from './primitives.ts';

export type AgentState = 'waiting-for-key' | 'ok' | 'removed' | 'stopped';

export interface ReceiveKeysEvent {
  epoch: number;
  /** Every other roster member's SFrame base key for this epoch. */
  senders: { participantId: string; kid: bigint; baseKey: Uint8Array }[];
}
export interface SendKeyEvent {
  epoch: number;
  kid: bigint;
  baseKey: Uint8Array;
}
export interface RetireEpochEvent {
  epoch: number;
}
export interface RosterMemberView {
  participantId: string;
  identityKey: Uint8Array;
  fingerprint: string;
  isLeader: boolean;
}
export interface RosterEvent {
  epoch: number;
  /** Verified members in join order: exactly the holders of this epoch's key. */
  members: RosterMemberView[];
  securityCode: string;
}
export interface StatusEvent {
  state: AgentState;
  /** The epoch we send with, once there is one. */
  epoch?: number;
}
export interface ErrorEvent {
  code: E2eeErrorCode;
  message: string;
  /** Relay sender of the rejected message, when it came from the relay. */
  from?: string;
}

export interface AgentEvents {
  'receive-keys': ReceiveKeysEvent;
  'send-key': SendKeyEvent;
  'retire-epoch': RetireEpochEvent;
  roster: RosterEvent;
  status: StatusEvent;
  error: ErrorEvent;
}

export type TimerHandle = unknown;

export interface AgentTiming {
  batchMs: number;
  commitTimeoutMs: number;
  retireAfterMs: number;
  orphanTimeoutMs: number;
}

export interface AgentOptions {
  meetingId: string;
  instanceId: string;
  selfId: string;
  identity: IdentityKeyPair;
  /** Relay a payload to one participant, or to everyone else when `to` is null. */
  send: (to: string | null, payload: string) => void;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => TimerHandle;
  clearTimer?: (handle: TimerHandle) => void;
  random?: RandomBytes;
  timing?: Partial<AgentTiming>;
  /** Largest relay payload the server forwards; bigger messages are fragmented. */
  maxPayloadChars?: number;
}
