// Joins the key agreement to the meeting: feeds the agent the server's
// (untrusted) notices and relayed payloads, hands verified keys to the frame
// worker, and keeps the E2EE state the UI shows (epoch, roster, security code,
// per-participant status).

import {
  MeetingKeyAgent,
  type AgentState,
  type ChatEvent,
  type ChatGapEvent,
  type DecidedBy,
  type ErrorEvent,
  type IdentityKeyPair,
  type LobbyEntry,
  type RosterMemberView,
} from '../../../shared/e2ee/index.ts';
import { cleanDisplayName } from '../../../shared/display-name.ts';
import type { JoinResult, ServerNotice } from '../../../shared/protocol/signaling.ts';
import type { Meeting, RemoteParticipant } from '../meeting.ts';
import type { FrameCrypto } from './frame-crypto.ts';
import { VerifiedStore, type Verification } from './verified-store.ts';

/** A sender whose frames fail for this long (with none decrypting) is shown as failing. */
const FAILING_AFTER_MS = 1500;

export interface TileStatus {
  state: 'ok' | 'waiting-for-key' | 'failing';
  text: string;
}

/** Longest a new video consumer stays paused waiting for our first epoch. */
const KEYED_GATE_TIMEOUT_MS = 5000;

export class E2eeController {
  agent?: MeetingKeyAgent;
  state: AgentState = 'waiting-for-key';
  epoch = 0;
  securityCode = '';
  previousSecurityCode = '';
  roster: RosterMemberView[] = [];
  readonly errors: ErrorEvent[] = [];
  /** Leader-signed lock state of the current epoch. */
  locked = false;
  /** Leader only: newcomers waiting for admission. */
  waiting: LobbyEntry[] = [];
  /** Who signed our lobby/denied status (unverifiable before we hold a roster). */
  decidedBy?: DecidedBy;
  readonly chat: ChatEvent[] = [];
  readonly verified = new VerifiedStore();
  private readonly chatListeners = new Set<(c: ChatEvent) => void>();
  private readonly chatGapListeners = new Set<(g: ChatGapEvent) => void>();
  private readonly kidsByEpoch = new Map<number, bigint[]>();

  /**
   * `secretSinkForTest` (test builds only, compiled out of dist/): told every
   * key this page holds, for the blindness audit's key search.
   */
  constructor(
    private readonly meeting: Meeting,
    readonly frames: FrameCrypto,
    readonly identity: IdentityKeyPair,
    private readonly secretSinkForTest?: (label: string, bytes: Uint8Array) => void,
  ) {
    meeting.onJoined((join) => this.start(join));
    // Hold new video until we can decrypt it (see ReceiveGate); never forever.
    meeting.receiveGate = (info) => (info.kind === 'video' ? this.whenKeyed(KEYED_GATE_TIMEOUT_MS) : Promise.resolve());
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
      this.securityCode = ''; // the old meeting's code is not this one's: shown again once the new agent is keyed
      this.state = 'waiting-for-key';
    }
    const signaling = this.meeting.signalingClient!;
    const agent = new MeetingKeyAgent({
      meetingId: join.meetingId,
      instanceId: join.instanceId,
      selfId: join.participantId,
      identity: this.identity,
      displayName: cleanDisplayName(this.meeting.opts.name),
      onSecretForTest: __E2EE_TEST_HOOKS__ ? (label, bytes) => this.recordKeyForTest(label, bytes) : undefined,
      send: (to, payload) => {
        void signaling.request({ type: 'relay', to, payload }).then((r) => {
          if (!r.ok && r.error.code !== 'UNKNOWN_PARTICIPANT') this.meeting.alert('warn', `Key exchange message not delivered: ${r.error.message}`);
        });
      },
    });
    this.agent = agent;
    if (__E2EE_TEST_HOOKS__) {
      this.recordKeyForTest(`${join.participantId} identity private key`, this.identity.privateKey.slice(0, 32));
      agent.on('receive-keys', (e) => {
        for (const s of e.senders) this.recordKeyForTest(`epoch ${e.epoch} base key of ${s.participantId}`, s.baseKey);
      });
      agent.on('send-key', (e) => this.recordKeyForTest(`epoch ${e.epoch} own base key of ${join.participantId}`, e.baseKey));
    }
    agent.on('receive-keys', (e) => {
      this.kidsByEpoch.set(e.epoch, e.senders.map((s) => s.kid));
      for (const s of e.senders) this.frames.addReceiveKey(s.kid, s.participantId, s.baseKey);
    });
    agent.on('send-key', (e) => {
      this.frames.setSendKey(e.kid, e.baseKey);
      this.epoch = e.epoch;
      this.releaseKeyedWaiters();
      if (this.resumedUnkeyed) {
        // Video resumed while we waited (a lobby, a slow leader) got keyframes
        // we could not decrypt: ask for fresh ones now rather than wait for the
        // SFU's next try.
        this.resumedUnkeyed = false;
        void this.meeting.media?.requestKeyFrames();
      }
      this.meeting.changed();
    });
    // A change we have no key for (protocol.md §7a): drop our frames rather than send them under an outdated key.
    agent.on('stop-sending', () => this.frames.clearSendKey());
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
      if (this.locked !== e.locked && before.size > 0) this.meeting.alert('info', e.locked ? 'The meeting is now locked: newcomers wait in the lobby.' : 'The meeting is unlocked.');
      this.locked = e.locked;
      if (before.size > 0) {
        for (const m of e.members) if (!before.has(m.participantId) && m.participantId !== join.participantId) this.meeting.alert('info', `${this.nameOf(m.participantId)} joined; the meeting key changed.`);
        for (const id of before) if (!after.has(id)) this.meeting.alert('info', `${this.nameOf(id)} left; the meeting key changed.`);
      }
      this.meeting.changed();
    });
    agent.on('lobby', (e) => {
      const known = new Set(this.waiting.map((w) => w.participantId));
      for (const w of e.waiting) if (!known.has(w.participantId)) this.meeting.alert('info', `${w.name || 'Someone'} is waiting in the lobby.`);
      this.waiting = e.waiting;
      this.locked = e.locked;
      this.meeting.changed();
    });
    agent.on('chat', (c) => {
      this.chat.push(c);
      if (this.chat.length > 500) this.chat.shift();
      for (const l of this.chatListeners) l(c);
    });
    agent.on('chat-gap', (g) => {
      for (const l of this.chatGapListeners) l(g);
    });
    agent.on('status', (e) => {
      const was = this.state;
      this.state = e.state;
      if (e.by) this.decidedBy = e.by;
      if (e.state === 'denied' && was !== 'denied') this.meeting.alert('error', 'The meeting leader did not let you in.');
      if (e.state === 'waiting-for-key' || e.state === 'rekeying') this.frames.clearSendKey();
      if (e.state === 'rekeying' && was !== 'rekeying') {
        this.meeting.alert('warn', 'Waiting for the new meeting key: your media is not being sent.');
      }
      if (e.state === 'removed' && was !== 'removed') {
        this.frames.clearSendKey();
        this.securityCode = ''; // we hold no current epoch: no code to compare
        if (e.reason === 'removed-by-leader') void this.meeting.leave('The meeting leader removed you.');
        this.meeting.alert('error', 'You were removed from the meeting key: your media is no longer sent.');
      }
      this.meeting.changed();
    });
    agent.on('error', (e) => {
      this.errors.push(e);
      if (this.errors.length > 100) this.errors.shift();
      console.warn(`e2ee: rejected ${e.code}${e.from ? ` from ${e.from}` : ''}: ${e.message}`);
      // Expected noise: chat from before we joined, announcements of people the leader excluded.
      if (e.code === 'CHAT_UNKNOWN_EPOCH' || e.code === 'PARTICIPANT_EXCLUDED') return;
      const who = e.from ? ` from ${this.nameOf(e.from)}` : '';
      this.meeting.alert(
        'warn',
        e.code.startsWith('CHAT_') ? `A chat message${who} could not be verified and was dropped (${e.code}).` : `Rejected a key-exchange message${who}: ${e.code}`,
      );
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

  /** The name a member signed in its announcement; the server's word only as a fallback. */
  nameOf(participantId: string): string {
    const signed = this.roster.find((m) => m.participantId === participantId)?.name;
    return signed || this.meeting.participants.get(participantId)?.name || participantId;
  }

  get isLeader(): boolean {
    return this.leaderId !== undefined && this.leaderId === this.meeting.join?.participantId;
  }

  onChat(l: (c: ChatEvent) => void): void {
    this.chatListeners.add(l);
  }

  /** Chat messages of a sender that did not reach us (its signed numbering skipped them). */
  onChatGap(l: (g: ChatGapEvent) => void): void {
    this.chatGapListeners.add(l);
  }

  /** Encrypts and sends; an error value (e.g. NO_KEY) when there is no key, never plaintext. */
  sendChat(text: string): { ok: true } | { ok: false; message: string } {
    const r = this.agent?.sendChat(text);
    if (!r) return { ok: false, message: 'not in a meeting' };
    return r.ok ? { ok: true } : { ok: false, message: r.error.code === 'NO_KEY' ? 'Not sent: waiting for the meeting key.' : r.error.message };
  }

  /** Leader actions; failures become alerts with the agent's code. */
  leaderAction(what: 'lock' | 'unlock' | 'admit' | 'deny' | 'remove', participantId?: string): void {
    const agent = this.agent;
    if (!agent) return;
    const r =
      what === 'lock' || what === 'unlock'
        ? agent.setLocked(what === 'lock')
        : what === 'admit'
          ? agent.admit(participantId!)
          : what === 'deny'
            ? agent.deny(participantId!)
            : agent.remove(participantId!);
    if (!r.ok) this.meeting.alert('warn', `Could not ${what}: ${r.error.message}`);
    else if (what === 'remove') this.meeting.alert('info', `${this.nameOf(participantId!)} is removed from the next meeting key.`);
  }

  private recordKeyForTest(label: string, bytes: Uint8Array): void {
    if (__E2EE_TEST_HOOKS__) this.secretSinkForTest?.(label, bytes);
  }

  inRoster(participantId: string): boolean {
    return this.roster.some((m) => m.participantId === participantId);
  }

  get leaderId(): string | undefined {
    return this.roster.find((m) => m.isLeader)?.participantId;
  }

  /**
   * A tile's E2EE state: not in the verified roster → waiting for key; any of
   * the tile's streams with recent drops and nothing decrypting → failing
   * (per stream, so a forged stream cannot hide behind a healthy camera).
   */
  tileStatus(p: RemoteParticipant, kind: 'camera' | 'screen' = 'camera'): TileStatus {
    if (!this.inRoster(p.id)) return { state: 'waiting-for-key', text: 'waiting for key' };
    const tracks = kind === 'screen' ? [p.tracks.screen] : [p.tracks.camera, p.tracks.mic];
    const now = Date.now();
    for (const t of tracks) {
      if (!t) continue;
      const s = this.frames.streams.get(t.producerId);
      const err = s?.lastError;
      // Failing = recent drops and nothing decrypting; a single glitch is not.
      if (err && now - err.at < 3000 && (s.lastDecryptAt === undefined || now - s.lastDecryptAt > FAILING_AFTER_MS)) {
        return { state: 'failing', text: `failing: ${err.code.replace(/_/g, ' ').toLowerCase()}` };
      }
    }
    return { state: 'ok', text: 'encrypted' };
  }

  /** Whether the user verified this member's identity key (roster members only). */
  identityOf(participantId: string): Verification | 'unknown' {
    const m = this.roster.find((x) => x.participantId === participantId);
    return m ? this.verified.status(m.identityKey, m.name || this.nameOf(participantId)) : 'unknown';
  }

  stop(): void {
    this.agent?.stop();
    this.frames.close();
    this.releaseKeyedWaiters();
  }

  private keyedWaiters: Array<() => void> = [];
  /** Some video was resumed before we were keyed (e.g. in a lobby): its keyframes were undecryptable. */
  private resumedUnkeyed = false;

  /**
   * Resolves once we hold a committed epoch: every member's receive keys of it
   * are installed and the senders have switched to it, so the next keyframe
   * decrypts. Resolves anyway after timeoutMs (e.g. while waiting in a lobby):
   * frames then arrive and are dropped as before, and the tile says why.
   */
  whenKeyed(timeoutMs: number): Promise<void> {
    if (this.epoch > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.resumedUnkeyed = true;
        done();
      }, timeoutMs);
      this.keyedWaiters.push(done);
    });
  }

  private releaseKeyedWaiters(): void {
    const waiters = this.keyedWaiters;
    this.keyedWaiters = [];
    for (const w of waiters) w();
  }
}

