// Joins the key agreement to the meeting: feeds the agent the server's
// (untrusted) notices and relayed payloads, hands verified keys to the frame
// worker, and keeps the E2EE state the UI shows (epoch, roster, security code,
// per-participant status).

import {
  LinkSeal,
  MeetingKeyAgent,
  type RelaySeal,
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
import { fromBase64Url } from '../../../shared/e2ee/encoding.ts';
import type { JoinResult, ServerNotice } from '../../../shared/protocol/signaling.ts';
import type { Meeting, RemoteParticipant } from '../meeting.ts';
import type { FrameCrypto, SendKeyResult } from './frame-crypto.ts';
import { DecryptEpisodes, decryptAlertText, type DecryptObservation } from './decrypt-alerts.ts';
import { gridEntries, type GridEntry } from './grid.ts';
import { encodeSignal, parseChatText, type InCallSignal, type ReactionName } from './in-call-signals.ts';
import { memberName, unverifiedLabel } from './names.ts';
import { LONG_WAIT_MS, longWaitNote } from './long-wait.ts';
import { FAILING_AFTER_MS, shownE2eeState, type SendKeyFailure, type ShownE2eeState } from './shown-state.ts';
import { VerifiedStore, type Verification } from './verified-store.ts';

export interface TileStatus {
  state: 'ok' | 'waiting-for-key' | 'failing';
  text: string;
}

/** Longest a new video consumer stays paused waiting for our first epoch. */
const KEYED_GATE_TIMEOUT_MS = 5000;
/**
 * Longest media set-up waits after a join for our first epoch (see
 * Meeting.mediaGate): a join is keyed in well under this on an idle machine;
 * a lobby or a slow leader must not hold the tiles and the camera for long.
 */
export const MEDIA_GATE_TIMEOUT_MS = 1500;

export class E2eeController {
  agent?: MeetingKeyAgent;
  state: AgentState = 'waiting-for-key';
  /** When the agent entered `state`: a long wait for a key says so (long-wait.ts). */
  private stateSince = Date.now();
  private longWaitTimer?: ReturnType<typeof setTimeout>;
  /** The epoch our frame worker confirmed it sends under (0: none yet); never one it refused. */
  epoch = 0;
  /** Set while the worker refuses our current send key (it then sends nothing). */
  sendKeyFailure?: SendKeyFailure;
  /** When the worker last confirmed a send key: send drops from before it are history. */
  private sendKeyConfirmedAt = 0;
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
  /** Participants whose payloads our link does not open: another link for this meeting ID, or the server's own. */
  readonly outsiders = new Set<string>();
  private readonly chatListeners = new Set<(c: ChatEvent) => void>();
  private readonly chatGapListeners = new Set<(g: ChatGapEvent) => void>();
  private readonly linkListeners = new Set<(secret: string) => void>();
  /** Raised hands, by participant (ourselves included), from verified signed signals. */
  readonly hands = new Set<string>();
  private readonly reactionListeners = new Set<(from: string, reaction: ReactionName) => void>();
  /** Who we cannot decrypt: one alert per episode, by verified name (decrypt-alerts.ts). */
  readonly decryptEpisodes = new DecryptEpisodes();

  /**
   * `secretSinkForTest` (test builds only, compiled out of dist/): told every
   * key this page holds, for the blindness audit's key search.
   */
  constructor(
    private readonly meeting: Meeting,
    readonly frames: FrameCrypto,
    readonly identity: IdentityKeyPair,
    /** The meeting link's secret (from the URL fragment); every relay payload is sealed with it. A new link from the leader replaces it. */
    private linkSecret: Uint8Array,
    private readonly secretSinkForTest?: (label: string, bytes: Uint8Array) => void,
    /** Test builds only (`&test=no-link-envelope`): relay payloads in clear, the control run of the tap search. */
    private readonly clearRelayForTest?: () => RelaySeal,
  ) {
    meeting.onJoined((join) => this.start(join));
    // Hold new video until we can decrypt it (see ReceiveGate); never forever.
    meeting.receiveGate = (info) =>
      info.kind === 'video'
        ? this.whenKeyed(KEYED_GATE_TIMEOUT_MS).then(() => {
            // Resumed unkeyed (the wait ran out): its keyframes are undecryptable, ask again once keyed.
            if (this.epoch === 0) this.resumedUnkeyed = true;
          })
        : Promise.resolve();
    // The key exchange first: media set-up on the same main thread would hold up our ack and the
    // commit, and with them every member's switch to the epoch that adds us (bench/RESULTS.md).
    meeting.mediaGate = () => this.whenKeyed(MEDIA_GATE_TIMEOUT_MS);
    meeting.onNotice((n) => this.onNotice(n));
    // Before our first roster we cannot tell who holds the key: keep everyone the server says left until it arrives.
    meeting.holdsKey = (id) => this.roster.length === 0 || this.inRoster(id);
    frames.onStats(() => {
      this.checkDecryption();
      meeting.changed();
    });
    frames.onWorkerEvent((m) => {
      if (m.type === 'need-keyframe') void meeting.media?.requestKeyFrames(m.participantId);
      if (m.type === 'error' && m.code === 'KEY_IMPORT')
        this.meeting.alert('error', `A frame key was refused, so some media cannot be decrypted: ${m.message}`);
    });
  }

  private start(join: JoinResult): void {
    // A rejoin after a lost connection starts over: new participant, new keys,
    // and a new frame worker, so no key (or KID) of the old meeting instance is
    // left to send under or to collide with the new instance's KIDs.
    if (this.agent) {
      this.agent.stop();
      this.frames.reset();
      this.roster = [];
      this.epoch = 0;
      this.securityCode = ''; // the old meeting's code is not this one's: shown again once the new agent is keyed
      this.sendKeyFailure = undefined;
      this.state = 'waiting-for-key';
    }
    // The wait for our first key starts now, not when the page opened.
    this.enteredState();
    const signaling = this.meeting.signalingClient!;
    const agent = new MeetingKeyAgent({
      meetingId: join.meetingId,
      instanceId: join.instanceId,
      selfId: join.participantId,
      identity: this.identity,
      displayName: cleanDisplayName(this.meeting.opts.name),
      link: this.clearRelayForTest?.() ?? new LinkSeal(this.linkSecret, join.meetingId, join.instanceId),
      onSecretForTest: __E2EE_TEST_HOOKS__ ? (label, bytes) => this.recordKeyForTest(label, bytes) : undefined,
      send: (to, payload) => {
        void signaling.request({ type: 'relay', to, payload }).then((r) => {
          if (!r.ok && r.error.code !== 'UNKNOWN_PARTICIPANT')
            this.meeting.alert('warn', `Key exchange message not delivered: ${r.error.message}`);
        });
      },
    });
    this.agent = agent;
    if (__E2EE_TEST_HOOKS__) {
      this.recordKeyForTest('meeting link secret', this.linkSecret);
      this.recordKeyForTest(`${join.participantId} identity private key`, this.identity.privateKey.slice(0, 32));
      agent.on('receive-keys', (e) => {
        for (const s of e.senders) this.recordKeyForTest(`epoch ${e.epoch} base key of ${s.participantId}`, s.baseKey);
      });
      agent.on('send-key', (e) => this.recordKeyForTest(`epoch ${e.epoch} own base key of ${join.participantId}`, e.baseKey));
    }
    // Per agent: epoch numbers restart with each meeting instance.
    const kidsByEpoch = new Map<number, bigint[]>();
    agent.on('receive-keys', (e) => {
      kidsByEpoch.set(
        e.epoch,
        e.senders.map((s) => s.kid),
      );
      for (const s of e.senders) this.frames.addReceiveKey(s.kid, s.participantId, s.baseKey);
    });
    agent.on('send-key', (e) => {
      void this.frames.setSendKey(e.kid, e.baseKey).then((r) => {
        if (this.agent === agent) this.onSendKeyResult(e.epoch, r);
      });
    });
    // A change we have no key for (protocol.md §7a): drop our frames rather than send them under an outdated key.
    agent.on('stop-sending', () => this.frames.clearSendKey());
    agent.on('retire-epoch', (e) => {
      for (const kid of kidsByEpoch.get(e.epoch) ?? []) this.frames.retireKey(kid, 0);
      kidsByEpoch.delete(e.epoch);
    });
    agent.on('roster', (e) => {
      const previous = this.roster;
      const before = new Set(previous.map((m) => m.participantId));
      const after = new Set(e.members.map((m) => m.participantId));
      if (this.securityCode && this.securityCode !== e.securityCode) this.previousSecurityCode = this.securityCode;
      this.roster = e.members;
      this.securityCode = e.securityCode;
      if (this.locked !== e.locked && before.size > 0)
        this.meeting.alert('info', e.locked ? 'The meeting is now locked: newcomers wait in the lobby.' : 'The meeting is unlocked.');
      this.locked = e.locked;
      if (before.size > 0) {
        for (const m of e.members)
          if (!before.has(m.participantId) && m.participantId !== join.participantId)
            this.meeting.alert('info', `${this.nameOf(m.participantId)} joined; the meeting key changed.`);
        for (const m of previous) {
          if (!after.has(m.participantId)) this.meeting.alert('info', `${memberName(m)} left; the meeting key changed.`);
        }
      }
      // Hands of members who left go down; newcomers cannot read the earlier signal, so a raised hand is said again.
      for (const id of [...this.hands]) if (!after.has(id)) this.hands.delete(id);
      if (this.hands.has(join.participantId) && [...after].some((id) => !before.has(id))) this.sendSignal({ type: 'hand', raised: true });
      // Participants the server said left keep their tile only while they hold the key.
      this.meeting.forgetDeparted();
      this.meeting.changed();
    });
    agent.on('lobby', (e) => {
      const known = new Set(this.waiting.map((w) => w.participantId));
      for (const w of e.waiting)
        if (!known.has(w.participantId)) this.meeting.alert('info', `${w.name || 'Someone'} is waiting in the lobby.`);
      this.waiting = e.waiting;
      this.locked = e.locked;
      this.meeting.changed();
    });
    agent.on('chat', (c) => {
      const content = parseChatText(c.text);
      if (content.kind === 'signal') return this.onSignal(c.from, c.own, content.signal);
      if (content.kind === 'bad-signal') {
        console.warn(`e2ee: dropped a malformed signal from ${c.from}: ${content.reason}`);
        return;
      }
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
      if (e.state !== was) this.enteredState();
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
      // Expected noise: chat from before we joined, announcements of people the leader excluded;
      // payloads without our link's proof show on the sender's tile instead (outsiders).
      if (e.code === 'CHAT_UNKNOWN_EPOCH' || e.code === 'PARTICIPANT_EXCLUDED' || e.code === 'NO_LINK_PROOF' || e.code === 'LINK_RETIRED')
        return;
      if (e.code === 'LEADER_PASSED_OVER' && e.from) {
        const name = this.nameOf(e.from);
        return this.meeting.alert(
          'warn',
          `${name} was next to hand out the new meeting key and sent nothing: the meeting continues without ${name}.`,
        );
      }
      if (e.code === 'SILENT_AHEAD') {
        return this.meeting.alert(
          'warn',
          'Nobody already in the meeting sent you its key, so you started the meeting key yourself. ' +
            'If someone there holds an older one, you will move to it when it reaches you.',
        );
      }
      const who = e.from ? ` from ${this.nameOf(e.from)}` : '';
      this.meeting.alert(
        'warn',
        e.code.startsWith('CHAT_')
          ? `A chat message${who} could not be verified and was dropped (${e.code}).`
          : `Rejected a key-exchange message${who}: ${e.code}`,
      );
    });
    agent.on('outsider', (e) => {
      if (e.outside) {
        this.outsiders.add(e.participantId);
        // Said once per sender: why its messages are ignored, and what that means for our own media.
        this.meeting.alert(
          'warn',
          `Ignored messages from ${this.nameOf(e.participantId)}: ` +
            (e.reason === 'link-retired'
              ? 'they are sealed with the link the leader replaced, which admits nobody new.'
              : "they are not sealed with this meeting's link, so they come from outside the meeting (another link, or the server).") +
            (this.state === 'ok' ? '' : ' Still waiting for the key from the meeting: your audio and video are not sent.'),
        );
      } else this.outsiders.delete(e.participantId);
      this.meeting.changed();
    });
    agent.on('link', (e) => {
      const secret = fromBase64Url(e.secret);
      if (!secret) return;
      // A rejoin (a new meeting instance) and Invite use the new link from now on.
      this.linkSecret = secret;
      for (const l of this.linkListeners) l(e.secret);
      this.meeting.alert(
        'info',
        e.leaderId === join.participantId
          ? 'You issued a new meeting link: the old one admits nobody new. Invite copies the new link; send it to anyone who has yet to join.'
          : "The leader replaced this meeting's link: the old one admits nobody new. Invite copies the new link.",
      );
      this.meeting.changed();
    });
    this.outsiders.clear();
    agent.start(join.peers.map((p) => p.participantId));
  }

  /**
   * The worker's answer to a send key. Only now is the epoch shown: the page
   * never shows an epoch its worker does not send under. A refusal means the
   * worker sends nothing (it dropped the previous key too), which the header
   * shows as failing until a later key is accepted.
   */
  private onSendKeyResult(epoch: number, r: SendKeyResult): void {
    if (!r.ok) {
      if (r.error.code === 'SUPERSEDED') return; // a later key change (or a rejoin) decides
      this.sendKeyFailure = { epoch, code: r.error.code, message: r.error.message };
      this.meeting.alert(
        'error',
        `The frame worker refused the key of epoch ${epoch} (${r.error.code}): your audio and video are not sent.`,
      );
      this.meeting.changed();
      return;
    }
    this.sendKeyFailure = undefined;
    this.sendKeyConfirmedAt = Date.now();
    if (epoch > this.epoch) this.epoch = epoch;
    this.releaseKeyedWaiters();
    if (this.resumedUnkeyed) {
      // Video resumed while we waited (a lobby, a slow leader) got keyframes
      // we could not decrypt: ask for fresh ones now rather than wait for the
      // SFU's next try.
      this.resumedUnkeyed = false;
      void this.meeting.media?.requestKeyFrames();
    }
    this.meeting.changed();
  }

  /** After a long wait for a key: what it means for the person (long-wait.ts); nothing otherwise. */
  get longWait(): string | undefined {
    return longWaitNote(this.state, this.stateSince, Date.now());
  }

  /** A new agent state: a wait for a key that lasts is said once, as an alert, and stays in the security panel. */
  private enteredState(): void {
    this.stateSince = Date.now();
    clearTimeout(this.longWaitTimer);
    const after = LONG_WAIT_MS[this.state];
    if (after === undefined) return;
    const since = this.stateSince;
    this.longWaitTimer = setTimeout(() => {
      const note = this.stateSince === since ? this.longWait : undefined;
      if (!note) return;
      this.meeting.alert('warn', note);
      this.meeting.changed();
    }, after);
  }

  /** The state the header shows: 'ok' ("end-to-end encrypted") only while our frames really leave encrypted (shown-state.ts). */
  get shownState(): ShownE2eeState {
    return shownE2eeState({
      agentState: this.state,
      phase: this.meeting.phase,
      confirmedEpoch: this.epoch,
      confirmedAt: this.sendKeyConfirmedAt,
      sendKeyFailure: this.sendKeyFailure,
      send: this.frames.send,
      now: Date.now(),
    });
  }

  private onNotice(n: ServerNotice): void {
    const agent = this.agent;
    if (!agent) return;
    if (n.type === 'participant-joined') agent.onPeerJoined(n.participantId);
    else if (n.type === 'participant-left') agent.onPeerLeft(n.participantId);
    else if (n.type === 'relay') agent.onRelay(n.from, n.payload);
  }

  /** The name a member signed in its announcement; anyone outside the roster is unverified (never the server's name). */
  nameOf(participantId: string): string {
    const m = this.roster.find((x) => x.participantId === participantId);
    return m ? memberName(m) : unverifiedLabel(participantId);
  }

  /** The tiles to show: the verified roster plus anyone present outside it (see grid.ts). */
  gridEntries(): GridEntry[] {
    const phase = this.meeting.phase;
    if (phase === 'left' || phase === 'failed') return [];
    return gridEntries(this.roster, this.meeting.participants, this.meeting.join?.participantId, this.outsiders);
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
    return r.ok
      ? { ok: true }
      : { ok: false, message: r.error.code === 'NO_KEY' ? 'Not sent: waiting for the meeting key.' : r.error.message };
  }

  /** Sends a raised hand or a reaction the way chat goes (encrypted, signed); an error value without a key. */
  sendSignal(signal: InCallSignal): { ok: true } | { ok: false; message: string } {
    return this.sendChat(encodeSignal(signal));
  }

  onReaction(l: (from: string, reaction: ReactionName) => void): void {
    this.reactionListeners.add(l);
  }

  private onSignal(from: string, own: boolean, signal: InCallSignal): void {
    if (signal.type === 'reaction') {
      for (const l of this.reactionListeners) l(from, signal.reaction);
      return;
    }
    const was = this.hands.has(from);
    if (signal.raised) this.hands.add(from);
    else this.hands.delete(from);
    if (!own && signal.raised && !was) this.meeting.alert('info', `${this.nameOf(from)} raised their hand.`);
    this.meeting.changed();
  }

  /** Called with the new secret (base64url) whenever the leader replaces the meeting link. */
  onLinkChanged(listener: (secret: string) => void): () => void {
    this.linkListeners.add(listener);
    return () => this.linkListeners.delete(listener);
  }

  /** Leader actions; failures become alerts with the agent's code. */
  leaderAction(what: 'lock' | 'unlock' | 'admit' | 'deny' | 'remove' | 'issue a new link', participantId?: string): void {
    const agent = this.agent;
    if (!agent) return;
    const r =
      what === 'issue a new link'
        ? agent.issueNewLink()
        : what === 'lock' || what === 'unlock'
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
   * the tile's streams we could not receive (a consume that failed, e.g. a
   * microphone the server calls video) or with recent drops and nothing
   * decrypting (e.g. WRONG_SENDER, WRONG_SOURCE: a relabelled stream) →
   * failing (per stream, so a forged stream cannot hide behind a healthy camera).
   */
  tileStatus(p: RemoteParticipant, kind: 'camera' | 'screen' = 'camera'): TileStatus {
    if (!this.inRoster(p.id)) return { state: 'waiting-for-key', text: 'waiting for key' };
    const sources = kind === 'screen' ? (['screen'] as const) : (['camera', 'mic'] as const);
    for (const source of sources) {
      const f = p.failedStreams[source];
      if (f)
        return { state: 'failing', text: `failing: ${source} not received (${f.code.replace(/_/g, ' ').toLowerCase()}: ${f.message})` };
    }
    const tracks = sources.map((source) => p.tracks[source]);
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

  /** Alerts once when a roster member's media stops decrypting, and once when it decrypts again. */
  private checkDecryption(): void {
    const self = this.meeting.join?.participantId;
    const observations: DecryptObservation[] = [];
    for (const m of this.roster) {
      const p = this.meeting.participants.get(m.participantId);
      if (!p || m.participantId === self) continue;
      const kinds = p.tracks.screen || p.failedStreams.screen ? (['camera', 'screen'] as const) : (['camera'] as const);
      const failing = kinds.map((k) => this.tileStatus(p, k)).find((s) => s.state === 'failing');
      let lastDecryptAt: number | undefined;
      for (const t of Object.values(p.tracks)) {
        const at = this.frames.streams.get(t.producerId)?.lastDecryptAt;
        if (at !== undefined && (lastDecryptAt === undefined || at > lastDecryptAt)) lastDecryptAt = at;
      }
      observations.push({
        participantId: m.participantId,
        failing: failing !== undefined,
        reason: failing ? failing.text.replace(/^failing: /, '') : '',
        lastDecryptAt,
      });
    }
    for (const a of this.decryptEpisodes.step(observations, Date.now())) {
      const { level, text } = decryptAlertText(a, this.nameOf(a.participantId));
      this.meeting.alert(level, text);
    }
  }

  /** Whether the user verified this member's identity key (roster members only). */
  identityOf(participantId: string): Verification | 'unknown' {
    const m = this.roster.find((x) => x.participantId === participantId);
    return m ? this.verified.status(m.identityKey, memberName(m)) : 'unknown';
  }

  stop(): void {
    clearTimeout(this.longWaitTimer);
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
   * decrypts. Resolves anyway after timeoutMs (e.g. while waiting in a lobby;
   * `epoch` is still 0 then): frames then arrive and are dropped as before,
   * and the tile says why.
   */
  whenKeyed(timeoutMs: number): Promise<void> {
    if (this.epoch > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.keyedWaiters.push(done);
    });
  }

  private releaseKeyedWaiters(): void {
    const waiters = this.keyedWaiters;
    this.keyedWaiters = [];
    for (const w of waiters) w();
  }
}
