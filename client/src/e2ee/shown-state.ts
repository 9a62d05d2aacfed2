// What the header says about our own encryption. "End-to-end encrypted" is a
// claim about the frames leaving this page, so it needs the frame worker's
// word as well as the key agent's: an epoch the worker confirmed it sends
// under, no refused send key, and no recent drops of our own frames.

import type { AgentState } from '../../../shared/e2ee/index.ts';
import type { MeetingPhase } from '../meeting.ts';
import type { SendFrameStats } from './worker/protocol.ts';

/** The agent's state, or 'failing' while our own frames cannot be encrypted. */
export type ShownE2eeState = AgentState | 'failing';

/** A send key the frame worker refused: nothing is sent until a later key is accepted. */
export interface SendKeyFailure {
  epoch: number;
  code: string;
  message: string;
}

/** Frames that fail for this long, with none getting through, count as failing (a single glitch does not). */
export const FAILING_AFTER_MS = 1500;
/** Drops older than this are history. */
const RECENT_MS = 3000;

export interface OwnEncryption {
  agentState: AgentState;
  phase: MeetingPhase;
  /** The epoch the worker confirmed it sends under (0: none yet). */
  confirmedEpoch: number;
  /** When the worker last confirmed a send key: drops from before it do not count. */
  confirmedAt: number;
  sendKeyFailure: SendKeyFailure | undefined;
  send: SendFrameStats;
  now: number;
}

export function shownE2eeState(o: OwnEncryption): ShownE2eeState {
  if (o.agentState !== 'ok') return o.agentState;
  if (o.sendKeyFailure) return 'failing';
  // While reconnecting the old instance's keys are going away; nothing is sent.
  if (o.phase === 'reconnecting' || o.confirmedEpoch === 0) return 'waiting-for-key';
  const { lastError, lastEncryptAt } = o.send;
  const recentDrop = lastError !== undefined && lastError.at > o.confirmedAt && o.now - lastError.at < RECENT_MS;
  if (recentDrop && (lastEncryptAt === undefined || o.now - lastEncryptAt > FAILING_AFTER_MS)) return 'failing';
  return 'ok';
}
