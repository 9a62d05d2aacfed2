// MeetingKeyAgent: the protocol state machine one participant runs, and the
// public API the client and the simulations use. It turns server notices and
// relayed payloads into verified keys, rosters and chat messages. The checks
// live in the pure modules (announcement, roster, key-message, ack, commit,
// admission, chat); the roles live beside this file: leader.ts (pure state
// transitions while we lead), epochs.ts (rosters and keys), chat-channel.ts,
// presence.ts and input-queue.ts. This class keeps them together: presence
// notices, inbound dispatch, and carrying out what the leader's steps ask for.
//
// Inputs are processed one at a time, in arrival order, on an internal queue
// (each input is one task; tasks may be asynchronous); idle() resolves when
// the queue is empty.

import { createAck, verifyAck, type Ack } from './ack.ts';
import { verifyAdmissionForMember, verifyAdmissionForNewcomer, type Admission } from './admission.ts';
import { createAnnouncement, sameAnnouncement, verifyAnnouncement, VerifiedAnnouncements, type Announcement } from './announcement.ts';
import { ChatChannel } from './chat-channel.ts';
import { verifyCommit, type Commit } from './commit.ts';
import { ID_PATTERN, LIMITS, SIZE, TIMING } from './constants.ts';
import { checkDisplayName } from './display-name.ts';
import { Emitter } from './emitter.ts';
import { toBase64Url } from './encoding.ts';
import { Epochs } from './epochs.ts';
import { E2eeError, fail, ok, type E2eeErrorCode, type Result } from './errors.ts';
import type { AgentEvents, AgentOptions, AgentState, AgentTiming, LobbyEntry, StatusEvent, TimerHandle } from './events.ts';
import { splitPayload, Reassembler } from './fragment.ts';
import type { IdentityKeyPair } from './identity.ts';
import { InputQueue } from './input-queue.ts';
import { openKeysMessage, type KeysMessage } from './key-message.ts';
import * as leader from './leader.ts';
import type { LeaderContext, LeaderState, LeaderStep, LeaderTimer } from './leader.ts';
import { LivenessNonces } from './liveness.ts';
import { Presence } from './presence.ts';
import { cryptoReady, dhKeyPairFromSeed, systemRandom, wipe, type DhKeyPair, type RandomBytes } from './primitives.ts';
import { expectedLeader, rosterIndexOf, verifyRoster, type Roster, type VerifiedRoster } from './roster.ts';
import { fingerprint } from './security-code.ts';
import { decodeMessage, encodeMessage, type WireMessage } from './wire.ts';
import { WrapKeyCache } from './wrap-keys.ts';

export type * from './events.ts';

export class MeetingKeyAgent {
  private readonly events = new Emitter<AgentEvents>((e) => this.reportInternal(e));
  private readonly meetingId: string;
  private readonly instanceId: string;
  private readonly selfId: string;
  private readonly identity: IdentityKeyPair;
  private readonly onSecretForTest: ((label: string, bytes: Uint8Array) => void) | undefined;
  private readonly send: (to: string | null, payload: string) => void;
  private readonly random: RandomBytes;
  private readonly now: () => number;
  private readonly timing: AgentTiming;
  private readonly maxPayloadChars: number;
  private readonly queue: InputQueue;

  private readonly dh: DhKeyPair;
  private readonly nonces: LivenessNonces;
  private readonly announcement: Announcement;
  private readonly reassembler: Reassembler;
  private readonly wrapKeys: WrapKeyCache;
  /** Announcement signatures verified so far (on receipt), so a roster re-verifies only what is new. */
  private readonly verifiedAnnouncements = new VerifiedAnnouncements(2 * LIMITS.maxMembers);
  private readonly presence: Presence;
  private readonly epochs: Epochs;
  private readonly chat: ChatChannel;

  /** Highest epoch number in any well-formed message, verified or not: only a hint for new chains. */
  private epochHint = 0;
  /** Present only while we lead; its timers by name. */
  private lead: LeaderState | null = null;
  private readonly leaderTimers = new Map<LeaderTimer, TimerHandle>();
  private orphanTimer: TimerHandle | null = null;
  private state: AgentState = 'waiting-for-key';
  /** Signer of the lobby or denial message behind the current state. */
  private stateBy: StatusEvent['by'];
  private started = false;

  constructor(opts: AgentOptions) {
    if (!cryptoReady()) throw new E2eeError('CRYPTO_NOT_READY', 'call initCrypto() before creating an agent');
    for (const [name, value] of [['meetingId', opts.meetingId], ['instanceId', opts.instanceId], ['selfId', opts.selfId]] as const) {
      if (!ID_PATTERN.test(value)) throw new E2eeError('INVALID_ARGUMENT', `${name} is not a valid ID`);
    }
    if (opts.identity.publicKey.length !== SIZE.identityPublicKey || opts.identity.privateKey.length !== SIZE.identityPrivateKey) {
      throw new E2eeError('INVALID_ARGUMENT', 'identity is not an Ed25519 key pair');
    }
    const name = checkDisplayName(opts.displayName ?? '');
    if (!name.ok) throw name.error;
    this.meetingId = opts.meetingId;
    this.instanceId = opts.instanceId;
    this.selfId = opts.selfId;
    this.identity = opts.identity;
    this.onSecretForTest = opts.onSecretForTest;
    this.send = opts.send;
    this.random = opts.random ?? systemRandom;
    this.now = opts.now ?? (() => Date.now());
    this.timing = { ...TIMING, ...opts.timing };
    this.maxPayloadChars = opts.maxPayloadChars ?? LIMITS.maxRelayPayload;
    this.queue = new InputQueue({
      setTimer: opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms)),
      clearTimer: opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>)),
      stopped: () => this.state === 'stopped',
      onError: (e) => this.reportInternal(e),
    });

    this.dh = dhKeyPairFromSeed(this.random(32));
    this.exportSecret(`X25519 private key of ${this.selfId}`, this.dh.privateKey);
    this.nonces = new LivenessNonces(this.random);
    this.announcement = createAnnouncement(
      { meetingId: this.meetingId, instanceId: this.instanceId, participantId: this.selfId, name: name.value, dhKey: this.dh.publicKey, nonce: this.nonces.latest },
      this.identity,
    );
    this.reassembler = new Reassembler({ now: this.now });
    this.wrapKeys = new WrapKeyCache(this.dh, this.exportSecret);
    this.presence = new Presence(this.selfId);
    this.epochs = new Epochs(this.selfId, this.events, this.exportSecret);
    this.chat = new ChatChannel({
      ...{ meetingId: this.meetingId, instanceId: this.instanceId, selfId: this.selfId, identity: this.identity, random: this.random, now: this.now },
      epochs: this.epochs,
      events: this.events,
      send: (to, m) => this.sendMessage(to, m),
      reject: (code, message, from) => this.reject(code, message, from),
    });
  }

  // ---------------------------------------------------------------- public API

  on<K extends keyof AgentEvents>(type: K, listener: (payload: AgentEvents[K]) => void): () => void {
    return this.events.on(type, listener);
  }

  get status(): AgentState {
    return this.state;
  }

  /** The epoch we currently send with (0 before the first). */
  get currentEpoch(): number {
    return this.epochs.sendEpoch;
  }

  /** Our own announcement (what the roster must carry for us). */
  get ownAnnouncement(): Announcement {
    return this.announcement;
  }

  /** Whether we lead (and so may lock, admit, deny and remove). */
  get isLeader(): boolean {
    return this.lead !== null;
  }

  /** The lock we enforce as leader, else the one our newest roster carries. */
  get locked(): boolean {
    return this.lead?.locked ?? this.epochs.head?.roster.locked ?? false;
  }

  /** Leader only: who waits in the lobby now, oldest first (empty otherwise). */
  get waiting(): LobbyEntry[] {
    return this.lead ? leader.waitingIn(this.lead, this.leaderContext()).map(leader.lobbyEntry) : [];
  }

  /** Call once after joining, with the IDs the server says are present, in join order. */
  start(presentIds: readonly string[]): void {
    this.queue.enqueue(() => {
      if (this.started) return this.reject('INVALID_ARGUMENT', 'start() called twice');
      this.started = true;
      for (let bad = this.presence.start(presentIds); bad > 0; bad--) this.reject('MALFORMED', 'server sent an invalid participant list entry');
      this.events.emit('status', { state: this.state });
      this.sendMessage(null, { type: 'announce', announcement: this.announcement });
      // Alone at start: we are the first, so we lead and key ourselves at once.
      if (this.presence.first === this.selfId) {
        this.becomeLeader();
        return this.leaderStep(leader.flush);
      }
    });
  }

  onPeerJoined(participantId: string): void {
    this.queue.enqueue(() => {
      if (!ID_PATTERN.test(participantId) || participantId === this.selfId) return this.reject('MALFORMED', 'server announced an invalid participant ID');
      if (this.presence.departed.has(participantId)) return this.reject('PARTICIPANT_ID_REUSED', `'${participantId}' already left this meeting`);
      if (!this.presence.joined(participantId)) return;
      if (this.presence.candidates.has(participantId)) this.leaderStep(leader.markDirty);
    });
  }

  onPeerLeft(participantId: string): void {
    this.queue.enqueue(() => {
      if (!ID_PATTERN.test(participantId) || participantId === this.selfId) return this.reject('MALFORMED', 'server reported an invalid participant leaving');
      if (!this.presence.left(participantId)) return;
      this.onDeparture(participantId);
      this.refreshLobby();
    });
  }

  onRelay(from: string, payload: string): void {
    this.queue.enqueue(() => this.handleRelay(from, payload));
  }

  // The leader's admission controls. Each checks at once (the error value is
  // for the UI) and again when its turn in the input queue comes, reporting
  // an `error` event if things changed meanwhile (e.g. we stopped leading).

  /** Leader only: lock or unlock the meeting. The next roster (a new epoch) carries it to everyone. */
  setLocked(locked: boolean): Result<void> {
    return this.leaderAction(
      () => (typeof locked === 'boolean' ? this.requireLeader('lock') : fail('INVALID_ARGUMENT', 'locked must be a boolean')),
      () => this.leaderStep((s, ctx, now) => leader.setLock(s, ctx, now, locked)),
    );
  }

  /** Leader only: let a waiting newcomer in; it is keyed with the next epoch. */
  admit(participantId: string): Result<void> {
    return this.leaderAction(
      () => this.requireWaiting(participantId),
      () => this.leaderStep((s, ctx, now) => leader.admit(s, ctx, now, participantId)),
    );
  }

  /** Leader only: refuse a waiting newcomer; it is told so and never added by this chain. */
  deny(participantId: string): Result<void> {
    return this.leaderAction(
      () => this.requireWaiting(participantId),
      () => {
        const newcomer = this.presence.candidates.get(participantId);
        this.exclude(participantId);
        this.leaderStep((s, ctx) => leader.deny(s, ctx, newcomer));
      },
    );
  }

  /** Leader only: drop a member; the next epoch (fresh key) excludes it, and so does every later roster. */
  remove(participantId: string): Result<void> {
    return this.leaderAction(
      () => {
        const lead = this.requireLeader('remove');
        if (!lead.ok) return lead;
        if (participantId === this.selfId) return fail('INVALID_ARGUMENT', 'the leader cannot remove itself (leave instead)');
        const head = this.epochs.head;
        if (!head || rosterIndexOf(head.roster, participantId) < 0) return fail('NOT_A_MEMBER', `'${participantId}' is not in the roster`);
        return lead;
      },
      () => {
        this.exclude(participantId);
        this.leaderStep(leader.markDirty);
      },
    );
  }

  /**
   * Encrypts and broadcasts a chat message under the epoch we send with.
   * Without one (waiting, lobby, removed, ...) this is NO_KEY: chat is never sent in the clear.
   */
  sendChat(text: string): Result<{ epoch: number; seq: number }> {
    return this.chat.send(text, this.state === 'ok');
  }

  /** Stops timers, erases keys and goes quiet. */
  stop(): void {
    if (this.state === 'stopped') return;
    this.queue.clearTimers();
    this.epochs.clear();
    this.wrapKeys.clear();
    wipe(this.dh.privateKey);
    this.reassembler.clear();
    this.lead = null;
    this.state = 'stopped';
    this.events.emit('status', { state: 'stopped' });
    this.events.clear();
  }

  /** Resolves once every input received so far has been processed. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  // ---------------------------------------------------------------- plumbing

  private reject(code: E2eeErrorCode, message: string, from?: string): void {
    this.events.emit('error', from === undefined ? { code, message } : { code, message, from });
  }

  private reportInternal(e: unknown): void {
    const code = e instanceof E2eeError ? e.code : 'INTERNAL';
    this.reject(code, e instanceof Error ? e.message : 'unexpected failure');
  }

  private setState(state: AgentState, extra: Pick<StatusEvent, 'by' | 'reason'> = {}): void {
    if (this.state === state && this.stateBy?.participantId === extra.by?.participantId) return;
    this.state = state;
    this.stateBy = extra.by;
    const epoch = this.epochs.sendEpoch;
    this.events.emit('status', { state, ...(epoch > 0 ? { epoch } : {}), ...extra });
  }

  /** Removed or denied: final for this connection, we ignore the meeting from now on. */
  private get ended(): boolean {
    return this.state === 'removed' || this.state === 'denied' || this.state === 'stopped';
  }

  /** Test builds only; a copy, since we erase ours. */
  private exportSecret = (label: string, bytes: Uint8Array): void => {
    if (!this.onSecretForTest) return;
    try {
      this.onSecretForTest(label, bytes.slice());
    } catch (e) {
      this.reportInternal(e);
    }
  };

  private sendMessage(to: string | null, m: WireMessage): void {
    const messageId = toBase64Url(this.random(9));
    for (const part of splitPayload(encodeMessage(m), this.maxPayloadChars, messageId)) this.send(to, part);
  }

  private cancelOrphanTimer(): void {
    this.queue.cancel(this.orphanTimer);
    this.orphanTimer = null;
  }

  /** Excluded participants are never added again, and drop out of the lobby. */
  private exclude(participantId: string): void {
    this.presence.exclude(participantId);
    if (this.lead) this.lead = leader.forget(this.lead, [participantId]);
  }

  private rememberRoster(v: VerifiedRoster): void {
    this.epochs.adopt(v);
    this.presence.adopt(v.roster);
    if (this.lead) this.lead = leader.forget(this.lead, v.roster.members.map((m) => m.participantId));
    // The leader's exclusions become ours: if we lead next, we keep them.
    for (const id of v.roster.excluded) this.exclude(id);
  }

  // ---------------------------------------------------------------- leading

  private leaderAction(check: () => Result<unknown>, apply: () => void): Result<void> {
    const now = check();
    if (!now.ok) return now;
    this.queue.enqueue(() => {
      const later = check();
      if (!later.ok) return this.reject(later.error.code, later.error.message);
      if (this.lead) apply();
    });
    return ok(undefined);
  }

  private requireLeader(what: string): Result<LeaderState> {
    if (!this.lead || this.ended) return fail('NOT_LEADER', `only the leader can ${what}`);
    return ok(this.lead);
  }

  private requireWaiting(participantId: string): Result<LeaderState> {
    const lead = this.requireLeader('admit or deny');
    if (!lead.ok) return lead;
    if (!leader.waitingIn(lead.value, this.leaderContext()).some((a) => a.participantId === participantId)) {
      return fail('NOT_IN_LOBBY', `'${participantId}' is not waiting in the lobby`);
    }
    return lead;
  }

  private leaderContext(): LeaderContext {
    const p = this.presence;
    return {
      meetingId: this.meetingId,
      instanceId: this.instanceId,
      selfId: this.selfId,
      self: this.announcement,
      identity: this.identity,
      dh: this.dh,
      random: this.random,
      timing: this.timing,
      head: this.epochs.head,
      candidates: p.candidates,
      isPresent: p.isPresent,
      excluded: p.excluded,
      departed: p.departed,
      echoes: p.echoes,
      epochHint: this.epochHint,
      wrapKeyFor: (peerDh) => this.wrapKeys.get('lead', peerDh),
      exportSecret: this.exportSecret,
    };
  }

  private becomeLeader(): void {
    if (this.lead) return;
    this.lead = leader.initialState(this.epochs.head);
    this.leaderStep(leader.refreshLobby);
  }

  private refreshLobby(): void {
    if (!this.ended) this.leaderStep(leader.refreshLobby);
  }

  /** Runs one leader transition (if we lead) and carries out what it asks for, in order. */
  private leaderStep(transition: (s: LeaderState, ctx: LeaderContext, now: number) => LeaderStep): void {
    if (!this.lead) return;
    const now = this.now();
    const { state, out } = transition(this.lead, this.leaderContext(), now);
    this.lead = state;
    for (const o of out) {
      if (!this.lead) return; // a listener stopped us
      switch (o.type) {
        case 'send':
          this.sendMessage(o.to, o.message);
          break;
        case 'lobby':
          this.events.emit('lobby', o.event);
          break;
        case 'adopt':
          this.rememberRoster(o.roster);
          this.epochs.keyEpoch = o.roster.roster.epoch;
          break;
        case 'install':
          this.epochs.install(o.roster, o.epochKey);
          break;
        case 'switch':
          this.switchTo(o.epoch);
          break;
        case 'arm': {
          const task = o.timer === 'flush' ? leader.flush : (s: LeaderState, ctx: LeaderContext) => leader.commit(s, ctx, 'timeout');
          this.leaderTimers.set(o.timer, this.queue.timer(o.at - now, () => this.leaderStep(task)));
          break;
        }
        case 'disarm':
          this.queue.cancel(this.leaderTimers.get(o.timer) ?? null);
          this.leaderTimers.delete(o.timer);
          break;
        case 'flush-next':
          this.queue.enqueue(() => this.leaderStep(leader.flush));
          break;
      }
    }
  }

  private switchTo(epoch: number): void {
    const older = this.epochs.switchTo(epoch);
    if (!older) return;
    if (this.state !== 'ok') {
      this.state = 'ok';
      this.stateBy = undefined;
      this.events.emit('status', { state: 'ok', epoch });
    }
    if (older.length > 0) this.queue.timer(this.timing.retireAfterMs, () => this.epochs.retire(older));
  }

  // ---------------------------------------------------------------- presence

  private onDeparture(id: string): void {
    if (this.ended) return;
    const head = this.epochs.head;
    if (!head) {
      // Still waiting: make sure whoever leads next has our announcement.
      this.sendMessage(null, { type: 'announce', announcement: this.announcement });
      this.armOrphanTimer();
      return;
    }
    if (this.lead) return this.leaderStep((s, ctx, now) => leader.participantLeft(s, ctx, now, id));
    if (expectedLeader(head.roster, this.presence.departed)?.participantId === this.selfId) {
      // Failover: batch with other departures that arrive together (a leader
      // and its successor often go at once).
      this.becomeLeader();
      this.leaderStep((s, ctx, now) => leader.markDirty(s, ctx, now, true));
    }
  }

  /**
   * Nobody keyed us and everyone the server listed before us is gone: after a
   * grace period (for a leader that has a chain to add us to) we start a new chain.
   */
  private armOrphanTimer(): void {
    if (this.orphanTimer !== null || this.lead || this.presence.anyoneAhead()) return;
    this.orphanTimer = this.queue.timer(this.timing.orphanTimeoutMs, () => {
      this.orphanTimer = null;
      if (this.epochs.head || this.presence.anyoneAhead() || this.ended) return;
      this.becomeLeader();
      this.leaderStep(leader.flush);
    });
  }

  // ---------------------------------------------------------------- inbound

  private handleRelay(from: string, payload: string): void {
    if (this.ended) return;
    if (typeof from !== 'string' || !ID_PATTERN.test(from)) return this.reject('MALFORMED', 'relay from an invalid participant ID');
    if (from === this.selfId) return this.reject('SENDER_MISMATCH', 'relay claims to come from us', from);
    if (typeof payload !== 'string') return this.reject('MALFORMED', 'relay payload is not a string', from);
    let decoded = decodeMessage(payload, LIMITS.maxRelayPayload);
    if (!decoded.ok) return this.reject(decoded.error.code, decoded.error.message, from);
    if (decoded.value.type === 'frag') {
      const whole = this.reassembler.add(from, decoded.value.fragment);
      if (!whole.ok) return this.reject(whole.error.code, whole.error.message, from);
      if (whole.value === null) return;
      decoded = decodeMessage(whole.value, LIMITS.maxMessageChars);
      if (!decoded.ok) return this.reject(decoded.error.code, decoded.error.message, from);
      if (decoded.value.type === 'frag') return this.reject('MALFORMED', 'fragment inside a fragment', from);
    }
    const m = decoded.value;
    const epoch = m.type === 'roster' ? m.roster.epoch : m.type === 'keys' ? m.keys.epoch : m.type === 'commit' ? m.commit.epoch : 0;
    this.epochHint = Math.max(this.epochHint, epoch);
    switch (m.type) {
      case 'announce':
        return this.handleAnnounce(from, m.announcement);
      case 'roster':
        return this.handleRoster(from, m.roster);
      case 'keys':
        return this.handleKeys(from, m.keys);
      case 'ack':
        return this.handleAck(from, m.ack);
      case 'commit':
        return this.handleCommit(from, m.commit);
      case 'admission':
        return this.handleAdmission(from, m.admission);
      case 'chat':
        return this.chat.receive(from, m.chat);
    }
  }

  private handleAnnounce(from: string, a: Announcement): void {
    const p = this.presence;
    if (p.departed.has(from)) return this.reject('PARTICIPANT_ID_REUSED', `announcement from '${from}', who already left`, from);
    if (!p.wasListed(from)) return this.reject('UNKNOWN_PARTICIPANT', `announcement from '${from}', whom the server never reported`, from);
    if (p.excluded.has(from)) return this.reject('PARTICIPANT_EXCLUDED', `announcement from '${from}', whom the leader removed or denied`, from);
    const checked = verifyAnnouncement(a, { meetingId: this.meetingId, instanceId: this.instanceId, from }, this.verifiedAnnouncements);
    if (!checked.ok) return this.reject(checked.error.code, checked.error.message, from);
    const inRoster = this.epochs.head?.roster.members.find((m) => m.participantId === from);
    const known = p.candidates.get(from) ?? (inRoster && { meetingId: this.meetingId, instanceId: this.instanceId, ...inRoster });
    if (known) {
      // Re-broadcasts are normal; new keys under a known ID are not accepted.
      if (!sameAnnouncement(known, a)) this.reject('ANNOUNCEMENT_CONFLICT', `'${from}' announced different keys`, from);
      return;
    }
    p.announced(a);
    this.leaderStep(leader.candidatesChanged);
  }

  private handleRoster(from: string, r: Roster): void {
    const result = verifyRoster(r, {
      meetingId: this.meetingId,
      instanceId: this.instanceId,
      from,
      self: this.announcement,
      head: this.epochs.head,
      departed: this.presence.departed,
      verifiedAnnouncements: this.verifiedAnnouncements,
    });
    if (!result.ok) {
      // Before our first roster, rosters of epochs we are not part of are expected (they are broadcast).
      if (!this.epochs.head && result.error.code === 'NOT_IN_ROSTER') return;
      return this.reject(result.error.code, result.error.message, from);
    }
    if (result.value.kind === 'removed') return this.handleRemoved(result.value.verified.roster.excluded.includes(this.selfId) ? 'removed-by-leader' : 'dropped');
    this.rememberRoster(result.value.verified);
    this.cancelOrphanTimer();
  }

  private handleKeys(from: string, k: KeysMessage): void {
    if (!this.epochs.head) return; // not our epoch yet: broadcast key messages reach newcomers too
    const opened = openKeysMessage(k, {
      meetingId: this.meetingId,
      instanceId: this.instanceId,
      selfId: this.selfId,
      from,
      roster: this.epochs.roster(k.epoch),
      lastEpoch: this.epochs.keyEpoch,
      dh: this.dh,
      acceptableEchoes: this.nonces.acceptable(),
      wrapKeyFor: (leaderDh) => this.wrapKeys.get('member', leaderDh),
    });
    if (!opened.ok) return this.reject(opened.error.code, opened.error.message, from);
    const roster = opened.value.roster;
    this.exportSecret(`epoch ${k.epoch} key`, opened.value.epochKey);
    this.epochs.keyEpoch = k.epoch;
    this.nonces.consume(opened.value.echo);
    for (const e of k.entries) this.presence.echoes.set(e.to, e.echo);
    this.epochs.install(roster, opened.value.epochKey);
    const ack = createAck(
      { meetingId: this.meetingId, instanceId: this.instanceId, epoch: k.epoch, participantId: this.selfId, rosterHash: roster.hash, nonce: this.nonces.issue() },
      this.identity,
    );
    this.sendMessage(k.leaderId, { type: 'ack', ack });
  }

  private handleAck(from: string, a: Ack): void {
    const checked = verifyAck(a, { meetingId: this.meetingId, instanceId: this.instanceId, from, selfId: this.selfId, roster: this.epochs.roster(a.epoch) });
    if (!checked.ok) return this.reject(checked.error.code, checked.error.message, from);
    this.presence.echoes.set(from, a.nonce);
    this.leaderStep((s, ctx) => leader.acked(s, ctx, from, a.epoch));
  }

  private handleCommit(from: string, c: Commit): void {
    if (!this.epochs.head) return; // a commit for an epoch before ours
    const checked = verifyCommit(c, {
      meetingId: this.meetingId,
      instanceId: this.instanceId,
      from,
      sendEpoch: this.epochs.sendEpoch,
      roster: this.epochs.installed(c.epoch) ? this.epochs.roster(c.epoch) : undefined,
    });
    if (!checked.ok) return this.reject(checked.error.code, checked.error.message, from);
    this.switchTo(c.epoch);
  }

  private handleAdmission(from: string, a: Admission): void {
    if (this.epochs.head) {
      // We are a member: a decision about us is stale (we were admitted), one
      // about a newcomer counts only from our leader; we keep its denials.
      if (a.to === this.selfId) return this.reject('STALE_EPOCH', 'admission message about us, who are already a member', from);
      const ctx = { meetingId: this.meetingId, instanceId: this.instanceId, from, roster: this.epochs.roster(a.epoch), departed: this.presence.departed };
      const checked = verifyAdmissionForMember(a, ctx);
      if (!checked.ok) return this.reject(checked.error.code, checked.error.message, from);
      if (a.decision === 'deny') this.exclude(a.to);
      return;
    }
    if (a.to !== this.selfId) return; // about another newcomer: broadcast denials reach us too
    if (!this.presence.isPresent(from)) return this.reject('UNKNOWN_PARTICIPANT', `admission from '${from}', whom the server does not list`, from);
    const checked = verifyAdmissionForNewcomer(a, { meetingId: this.meetingId, instanceId: this.instanceId, from, self: this.announcement });
    if (!checked.ok) return this.reject(checked.error.code, checked.error.message, from);
    // Only a hint for the UI: we cannot know this key leads. Nobody keys us either way.
    const by = { participantId: from, fingerprint: fingerprint(a.leaderKey) };
    if (a.decision === 'wait') return this.setState('lobby', { by });
    this.cancelOrphanTimer();
    this.setState('denied', { by });
  }

  private handleRemoved(reason: 'removed-by-leader' | 'dropped'): void {
    // A valid roster from our leader without us: we no longer get keys. Stop
    // sending now (no send key), keep receive keys for the grace period.
    this.lead = null;
    this.setState('removed', { reason });
    const epochs = this.epochs.held();
    this.queue.timer(this.timing.retireAfterMs, () => this.epochs.retire(epochs));
  }
}
