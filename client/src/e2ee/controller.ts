// Joins the key agreement to the meeting: feeds the agent the server's
// (untrusted) notices and relayed payloads, hands verified keys to the frame
// worker, and keeps the E2EE state the UI shows (epoch, roster, security code,
// per-participant status).

import {
  MeetingKeyAgent,
  type AgentState,
  type ErrorEvent,
  type IdentityKeyPair,
  type RosterMemberView,
} from '../../../shared/e2ee/index.ts';
import type { JoinResult, ServerNotice } from '../../../shared/protocol/signaling.ts';
import type { Meeting, RemoteParticipant } from '../meeting.ts';
import type { FrameCrypto } from './frame-crypto.ts';

/** A sender whose frames fail for this long (with none decrypting) is shown as failing. */
const FAILING_AFTER_MS = 1500;

export interface TileStatus {
  state: 'ok' | 'waiting-for-key' | 'failing';
  text: string;
}

export class E2eeController {
  agent?: MeetingKeyAgent;
  state: AgentState = 'waiting-for-key';
  epoch = 0;
  securityCode = '';
  previousSecurityCode = '';
  roster: RosterMemberView[] = [];
  readonly errors: ErrorEvent[] = [];
  private readonly kidsByEpoch = new Map<number, bigint[]>();
  /** Test builds only: every key this page held, for the blindness audit's key search. */
  readonly keysForTest: Array<{ label: string; hex: string }> = [];

  constructor(
    private readonly meeting: Meeting,
    readonly frames: FrameCrypto,
    readonly identity: IdentityKeyPair,
  ) {
    meeting.onJoined((join) => this.start(join));
    meeting.onNotice((n) => this.onNotice(n));
    frames.onStats(() => meeting.changed());
    frames.onWorkerEvent((m) => {
      if (m.type === 'need-keyframe') void meeting.media?.requestKeyFrames(m.participantId);
    });
  }

  private start(join: JoinResult): void {
    // A rejoin after a lost connection starts over: new participant, new keys.
    if (this.agent) {
      this.agent.stop();
      this.frames.clearSendKey();
      this.roster = [];
      this.epoch = 0;
      this.state = 'waiting-for-key';
    }
    const signaling = this.meeting.signalingClient!;
    const agent = new MeetingKeyAgent({
      meetingId: join.meetingId,
      instanceId: join.instanceId,
      selfId: join.participantId,
      identity: this.identity,
      send: (to, payload) => {
        void signaling.request({ type: 'relay', to, payload }).then((r) => {
          if (!r.ok && r.error.code !== 'UNKNOWN_PARTICIPANT') this.meeting.alert('warn', `Key exchange message not delivered: ${r.error.message}`);
        });
      },
    });
    this.agent = agent;
    if (__E2EE_TEST_HOOKS__) {
      const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      this.keysForTest.push({ label: `${join.participantId} identity private key`, hex: hex(this.identity.privateKey.slice(0, 32)) });
      agent.on('receive-keys', (e) => {
        for (const s of e.senders) this.keysForTest.push({ label: `epoch ${e.epoch} base key of ${s.participantId}`, hex: hex(s.baseKey) });
      });
      agent.on('send-key', (e) => this.keysForTest.push({ label: `epoch ${e.epoch} own base key of ${join.participantId}`, hex: hex(e.baseKey) }));
    }
    agent.on('receive-keys', (e) => {
      this.kidsByEpoch.set(e.epoch, e.senders.map((s) => s.kid));
      for (const s of e.senders) this.frames.addReceiveKey(s.kid, s.participantId, s.baseKey);
    });
    agent.on('send-key', (e) => {
      this.frames.setSendKey(e.kid, e.baseKey);
      this.epoch = e.epoch;
      this.meeting.changed();
    });
    agent.on('retire-epoch', (e) => {
      for (const kid of this.kidsByEpoch.get(e.epoch) ?? []) this.frames.retireKey(kid, 0);
      this.kidsByEpoch.delete(e.epoch);
    });
    agent.on('roster', (e) => {
      const before = new Set(this.roster.map((m) => m.participantId));
      const after = new Set(e.members.map((m) => m.participantId));
      if (this.securityCode && this.securityCode !== e.securityCode) this.previousSecurityCode = this.securityCode;
      this.roster = e.members;
      this.securityCode = e.securityCode;
      if (before.size > 0) {
        for (const m of e.members) if (!before.has(m.participantId) && m.participantId !== join.participantId) this.meeting.alert('info', `${this.nameOf(m.participantId)} joined; the meeting key changed.`);
        for (const id of before) if (!after.has(id)) this.meeting.alert('info', `${this.nameOf(id)} left; the meeting key changed.`);
      }
      this.meeting.changed();
    });
    agent.on('status', (e) => {
      const was = this.state;
      this.state = e.state;
      if (e.state === 'waiting-for-key') this.frames.clearSendKey();
      if (e.state === 'removed' && was !== 'removed') {
        this.frames.clearSendKey();
        this.meeting.alert('error', 'You were removed from the meeting key: your media is no longer sent.');
      }
      this.meeting.changed();
    });
    agent.on('error', (e) => {
      this.errors.push(e);
      if (this.errors.length > 100) this.errors.shift();
      console.warn(`e2ee: rejected ${e.code}${e.from ? ` from ${e.from}` : ''}: ${e.message}`);
      this.meeting.alert('warn', `Rejected a key-exchange message${e.from ? ` from ${this.nameOf(e.from)}` : ''}: ${e.code}`);
    });
    agent.start(join.peers.map((p) => p.participantId));
  }

  private onNotice(n: ServerNotice): void {
    const agent = this.agent;
    if (!agent) return;
    if (n.type === 'participant-joined') agent.onPeerJoined(n.participantId);
    else if (n.type === 'participant-left') agent.onPeerLeft(n.participantId);
    else if (n.type === 'relay') agent.onRelay(n.from, n.payload);
  }

  nameOf(participantId: string): string {
    return this.meeting.participants.get(participantId)?.name ?? participantId;
  }

  inRoster(participantId: string): boolean {
    return this.roster.some((m) => m.participantId === participantId);
  }

  get leaderId(): string | undefined {
    return this.roster.find((m) => m.isLeader)?.participantId;
  }

  tileStatus(p: RemoteParticipant): TileStatus {
    if (!this.inRoster(p.id)) return { state: 'waiting-for-key', text: 'waiting for key' };
    const s = this.frames.receive.get(p.id);
    const now = Date.now();
    const err = s?.lastError;
    // Failing = recent drops and nothing decrypting; a single glitch is not.
    if (err && now - err.at < 3000 && (s.lastDecryptAt === undefined || now - s.lastDecryptAt > FAILING_AFTER_MS)) {
      return { state: 'failing', text: `failing: ${err.code.replace(/_/g, ' ').toLowerCase()}` };
    }
    return { state: 'ok', text: 'encrypted' };
  }

  stop(): void {
    this.agent?.stop();
    this.frames.close();
  }
}
