// MeetingKeyAgent: the protocol state machine one participant runs. It turns
// server notices and relayed payloads into verified keys, rosters and chat
// messages. All checks live in the pure modules (announcement, roster,
// key-message, ack, commit, admission, chat); this class only keeps state,
// schedules timers and sends messages.
//
// Inputs are processed one at a time, in arrival order, on an internal queue
// (each input is one task; tasks may be asynchronous); idle() resolves when
// the queue is empty.

import { createAck, verifyAck, type Ack } from './ack.ts';
import { admissible, createAdmission, lobbyWaiting, verifyAdmissionForMember, verifyAdmissionForNewcomer, type Admission, type LobbyInput } from './admission.ts';
import { createAnnouncement, sameAnnouncement, verifyAnnouncement, VerifiedAnnouncements, type Announcement } from './announcement.ts';
import { checkChatText, createChat, openChat, type ChatMessage } from './chat.ts';
import { decodeMessage, encodeMessage, type WireMessage } from './wire.ts';
import { createCommit, verifyCommit, type Commit, type CommitReason } from './commit.ts';
import { ID_PATTERN, LIMITS, SIZE, TIMING } from './constants.ts';
import { checkDisplayName } from './display-name.ts';
import { Emitter } from './emitter.ts';
import { constantTimeEqual } from '../bytes.ts';
import { toBase64Url } from './encoding.ts';
import { E2eeError, fail, ok, type E2eeErrorCode, type Result } from './errors.ts';
import type { AgentEvents, AgentOptions, AgentState, AgentTiming, LobbyEntry, StatusEvent, TimerHandle } from './events.ts';
import { splitPayload, Reassembler } from './fragment.ts';
import type { IdentityKeyPair } from './identity.ts';
import { EpochKeyRing } from './key-ring.ts';
import { createKeysMessage, openKeysMessage, type KeysMessage } from './key-message.ts';
import { LivenessNonces } from './liveness.ts';
import { planMembers, sameMembers } from './membership.ts';
import { cryptoReady, dhKeyPairFromSeed, systemRandom, wipe, wrapKey, type DhKeyPair, type RandomBytes } from './primitives.ts';
import { createRoster, expectedLeader, GENESIS_HASH, rosterIndexOf, verifyRoster, type Roster, type VerifiedRoster } from './roster.ts';
import { describeRoster } from './roster-view.ts';
import { fingerprint } from './security-code.ts';

export type * from './events.ts';

// ------------------------------------------------------------------ internal state

interface PendingEpoch {
  epoch: number;
  awaiting: Set<string>;
  timer: TimerHandle;
}

/** Present only while we lead. */
interface LeaderState {
  dirty: boolean;
  batchTimer: TimerHandle | null;
  pending: PendingEpoch | null;
  /** When the last epoch was started (agent clock); -Infinity before the first. */
  lastFlushAt: number;
  /** The lock we enforce now; the group sees it in our next roster. */
  locked: boolean;
  /** Admitted from the lobby, to be added with the next epoch. */
  admitted: Set<string>;
  /** Newcomers we already told to wait. */
  notified: Set<string>;
  /** Last lobby event emitted, to emit only changes. */
  lobbyKey: string | null;
}

const KEPT_ROSTERS = 8;

export class MeetingKeyAgent {
  private readonly events = new Emitter<AgentEvents>((e) => this.reportInternal(e));
  private readonly meetingId: string;
  private readonly instanceId: string;
  private readonly selfId: string;
  private readonly identity: IdentityKeyPair;
  private readonly displayName: string;
  private readonly onSecretForTest: ((label: string, bytes: Uint8Array) => void) | undefined;
  private readonly send: (to: string | null, payload: string) => void;
  private readonly random: RandomBytes;
  private readonly now: () => number;
  private readonly timing: AgentTiming;
  private readonly maxPayloadChars: number;
  private readonly setTimerFn: (fn: () => void, ms: number) => TimerHandle;
  private readonly clearTimerFn: (handle: TimerHandle) => void;
  private readonly timers = new Set<TimerHandle>();

  private readonly dh: DhKeyPair;
  private readonly nonces: LivenessNonces;
  private readonly announcement: Announcement;
  private readonly reassembler: Reassembler;
  private readonly wrapKeys = new Map<string, Uint8Array>();
  /** Announcement signatures verified so far (on receipt), so a roster re-verifies only what is new. */
  private readonly verifiedAnnouncements = new VerifiedAnnouncements(2 * LIMITS.maxMembers);
  /** Fingerprints shown for roster members, by participant (with the key they were computed from): most members carry over from epoch to epoch. */
  private readonly fingerprints = new Map<string, { identityKey: Uint8Array; fingerprint: string }>();

  /** Server's join order (including us), and who it said left. */
  private readonly joinOrder: string[] = [];
  private readonly departed = new Set<string>();
  /** Verified announcements of present participants not yet in our head roster. */
  private readonly candidates = new Map<string, Announcement>();
  /** Latest liveness nonce we know per participant, echoed if we lead. */
  private readonly echoes = new Map<string, Uint8Array>();
  /** Removed or denied participants (from signed rosters and leader-signed denials): never added again. */
  private readonly excluded = new Set<string>();
  /** Our chat sequence number, and the highest accepted per sender. */
  private chatSeq = 0;
  private readonly chatSeen = new Map<string, number>();

  private head: VerifiedRoster | null = null;
  private readonly rosters = new Map<number, VerifiedRoster>();
  private readonly keys: EpochKeyRing;
  private keyEpoch = 0;
  private sendEpoch = 0;
  /** Highest epoch number in any well-formed message, verified or not: only a hint for new chains. */
  private epochHint = 0;
  private lead: LeaderState | null = null;
  private orphanTimer: TimerHandle | null = null;
  private state: AgentState = 'waiting-for-key';
  /** Signer of the lobby or denial message behind the current state. */
  private stateBy: StatusEvent['by'];
  private started = false;
  private queue: Promise<void> = Promise.resolve();

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
    this.displayName = name.value;
    this.onSecretForTest = opts.onSecretForTest;
    this.send = opts.send;
    this.random = opts.random ?? systemRandom;
    this.now = opts.now ?? (() => Date.now());
    this.timing = { ...TIMING, ...opts.timing };
    this.maxPayloadChars = opts.maxPayloadChars ?? LIMITS.maxRelayPayload;
    this.setTimerFn = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimerFn = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));

    this.dh = dhKeyPairFromSeed(this.random(32));
    this.exportSecret(`X25519 private key of ${this.selfId}`, this.dh.privateKey);
    this.nonces = new LivenessNonces(this.random);
    this.announcement = createAnnouncement(
      { meetingId: this.meetingId, instanceId: this.instanceId, participantId: this.selfId, name: this.displayName, dhKey: this.dh.publicKey, nonce: this.nonces.latest },
      this.identity,
    );
    this.reassembler = new Reassembler({ now: this.now });
    this.keys = new EpochKeyRing(this.selfId);
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
    return this.sendEpoch;
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
    return this.lead?.locked ?? this.head?.roster.locked ?? false;
  }

  /** Leader only: who waits in the lobby now, oldest first (empty otherwise). */
  get waiting(): LobbyEntry[] {
    return this.lead ? lobbyWaiting(this.lobbyInput(this.lead)).map(lobbyEntry) : [];
  }

  /** Call once after joining, with the IDs the server says are present, in join order. */
  start(presentIds: readonly string[]): void {
    this.enqueue(() => {
      if (this.started) return this.reject('INVALID_ARGUMENT', 'start() called twice');
      this.started = true;
      // Joins notified before start() came after the server's snapshot: they go after us.
      const laterJoins = this.joinOrder.splice(0);
      for (const id of presentIds) {
        if (!ID_PATTERN.test(id) || id === this.selfId || this.joinOrder.includes(id)) {
          this.reject('MALFORMED', 'server sent an invalid participant list entry');
          continue;
        }
        this.joinOrder.push(id);
      }
      this.joinOrder.push(this.selfId, ...laterJoins.filter((id) => !this.joinOrder.includes(id)));
      this.events.emit('status', { state: this.state });
      this.sendMessage(null, { type: 'announce', announcement: this.announcement });
      // Alone at start: we are the first, so we lead and key ourselves at once.
      if (this.joinOrder[0] === this.selfId) {
        this.becomeLeader();
        return this.flush();
      }
    });
  }

  onPeerJoined(participantId: string): void {
    this.enqueue(() => {
      if (!ID_PATTERN.test(participantId) || participantId === this.selfId) return this.reject('MALFORMED', 'server announced an invalid participant ID');
      if (this.departed.has(participantId)) return this.reject('PARTICIPANT_ID_REUSED', `'${participantId}' already left this meeting`);
      if (this.joinOrder.includes(participantId)) return;
      this.joinOrder.push(participantId);
      if (this.lead && this.candidates.has(participantId)) this.markDirty();
    });
  }

  onPeerLeft(participantId: string): void {
    this.enqueue(() => {
      if (!ID_PATTERN.test(participantId) || participantId === this.selfId) return this.reject('MALFORMED', 'server reported an invalid participant leaving');
      if (this.departed.has(participantId)) return;
      this.departed.add(participantId);
      this.candidates.delete(participantId);
      this.echoes.delete(participantId);
      this.onDeparture(participantId);
      this.refreshLobby();
    });
  }

  onRelay(from: string, payload: string): void {
    this.enqueue(() => this.handleRelay(from, payload));
  }

  // The leader's admission controls. Each checks at once (the error value is
  // for the UI) and again when its turn in the input queue comes, reporting
  // an `error` event if things changed meanwhile (e.g. we stopped leading).

  /** Leader only: lock or unlock the meeting. The next roster (a new epoch) carries it to everyone. */
  setLocked(locked: boolean): Result<void> {
    return this.leaderAction(
      () => (typeof locked === 'boolean' ? this.requireLeader('lock') : fail('INVALID_ARGUMENT', 'locked must be a boolean')),
      (lead) => {
        if (lead.locked === locked) return;
        lead.locked = locked;
        this.markDirty();
        this.refreshLobby();
      },
    );
  }

  /** Leader only: let a waiting newcomer in; it is keyed with the next epoch. */
  admit(participantId: string): Result<void> {
    return this.leaderAction(
      () => this.requireWaiting(participantId),
      (lead) => {
        lead.admitted.add(participantId);
        this.markDirty();
        this.refreshLobby();
      },
    );
  }

  /** Leader only: refuse a waiting newcomer; it is told so and never added by this chain. */
  deny(participantId: string): Result<void> {
    return this.leaderAction(
      () => this.requireWaiting(participantId),
      () => {
        const newcomer = this.candidates.get(participantId);
        this.exclude(participantId);
        // Broadcast: the newcomer learns it, and members remember it in case they lead next.
        if (newcomer && this.head) {
          this.sendMessage(null, { type: 'admission', admission: createAdmission({ roster: this.head, leaderId: this.selfId, newcomer, decision: 'deny' }, this.identity) });
        }
        this.refreshLobby();
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
        if (!this.head || rosterIndexOf(this.head.roster, participantId) < 0) return fail('NOT_A_MEMBER', `'${participantId}' is not in the roster`);
        return lead;
      },
      () => {
        this.exclude(participantId);
        this.markDirty();
      },
    );
  }

  /**
   * Encrypts and broadcasts a chat message under the epoch we send with.
   * Without one (waiting, lobby, removed, ...) this is NO_KEY: chat is never sent in the clear.
   */
  sendChat(text: string): Result<{ epoch: number; seq: number }> {
    const checked = checkChatText(text);
    if (!checked.ok) return checked;
    const epoch = this.sendEpoch;
    const installed = this.keys.get(epoch);
    const roster = this.rosters.get(epoch);
    const self = roster?.roster.members[rosterIndexOf(roster.roster, this.selfId)];
    if (this.state !== 'ok' || !installed || !self) return fail('NO_KEY', 'no epoch key to encrypt chat with');
    if (this.chatSeq >= LIMITS.maxChatSeq) return fail('INVALID_ARGUMENT', 'chat sequence numbers exhausted');
    const seq = ++this.chatSeq;
    const chat = createChat({ meetingId: this.meetingId, instanceId: this.instanceId, epoch, senderId: this.selfId, seq, text, chatKey: installed.chatKey, identity: this.identity, random: this.random });
    this.sendMessage(null, { type: 'chat', chat });
    this.events.emit('chat', { from: this.selfId, name: self.name, fingerprint: this.fingerprintOf(self.identityKey, self.participantId), text, epoch, seq, at: this.now(), own: true });
    return ok({ epoch, seq });
  }

  /** Stops timers, erases keys and goes quiet. */
  stop(): void {
    if (this.state === 'stopped') return;
    for (const t of this.timers) this.clearTimerFn(t);
    this.timers.clear();
    this.keys.clear();
    for (const k of this.wrapKeys.values()) wipe(k);
    this.wrapKeys.clear();
    wipe(this.dh.privateKey);
    this.reassembler.clear();
    this.lead = null;
    this.state = 'stopped';
    this.events.emit('status', { state: 'stopped' });
    this.events.clear();
  }

  /** Resolves once every input received so far has been processed. */
  async idle(): Promise<void> {
    let q: Promise<void>;
    do {
      q = this.queue;
      await q;
    } while (q !== this.queue);
  }

  // ---------------------------------------------------------------- plumbing

  private enqueue(task: () => void | Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.state === 'stopped') return;
      try {
        await task();
      } catch (e) {
        this.reportInternal(e);
      }
    });
  }

  private timer(ms: number, task: () => void | Promise<void>): TimerHandle {
    const handle: TimerHandle = this.setTimerFn(() => {
      this.timers.delete(handle);
      this.enqueue(task);
    }, ms);
    this.timers.add(handle);
    return handle;
  }

  private cancel(handle: TimerHandle | null): void {
    if (handle === null) return;
    this.clearTimerFn(handle);
    this.timers.delete(handle);
  }

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
    this.events.emit('status', { state, ...(this.sendEpoch > 0 ? { epoch: this.sendEpoch } : {}), ...extra });
  }

  /** Removed or denied: final for this connection, we ignore the meeting from now on. */
  private get ended(): boolean {
    return this.state === 'removed' || this.state === 'denied' || this.state === 'stopped';
  }

  /** Test builds only; a copy, since we erase ours. */
  private exportSecret(label: string, bytes: Uint8Array): void {
    if (!this.onSecretForTest) return;
    try {
      this.onSecretForTest(label, bytes.slice());
    } catch (e) {
      this.reportInternal(e);
    }
  }

  private leaderAction(check: () => Result<unknown>, apply: (lead: LeaderState) => void): Result<void> {
    const now = check();
    if (!now.ok) return now;
    this.enqueue(() => {
      const later = check();
      if (!later.ok) return this.reject(later.error.code, later.error.message);
      if (this.lead) apply(this.lead);
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
    if (!lobbyWaiting(this.lobbyInput(lead.value)).some((a) => a.participantId === participantId)) {
      return fail('NOT_IN_LOBBY', `'${participantId}' is not waiting in the lobby`);
    }
    return lead;
  }

  private lobbyInput(lead: LeaderState): LobbyInput {
    return { locked: lead.locked, candidates: this.candidates.values(), isPresent: this.isPresent, excluded: this.excluded, admitted: lead.admitted };
  }

  private exclude(participantId: string): void {
    this.excluded.add(participantId);
    this.candidates.delete(participantId);
    this.lead?.admitted.delete(participantId);
  }

  private sendMessage(to: string | null, m: WireMessage): void {
    const messageId = toBase64Url(this.random(9));
    for (const part of splitPayload(encodeMessage(m), this.maxPayloadChars, messageId)) this.send(to, part);
  }

  private fingerprintOf = (identityKey: Uint8Array, participantId = ''): string => {
    // Looked up by participant; a hit must carry the same whole key.
    const hit = this.fingerprints.get(participantId);
    if (hit && constantTimeEqual(hit.identityKey, identityKey)) return hit.fingerprint;
    const fp = fingerprint(identityKey);
    if (participantId) {
      if (this.fingerprints.size >= 2 * LIMITS.maxMembers) this.fingerprints.clear();
      this.fingerprints.set(participantId, { identityKey: identityKey.slice(), fingerprint: fp });
    }
    return fp;
  };

  private isPresent = (id: string): boolean => !this.departed.has(id) && this.joinOrder.includes(id);

  /** Cached X25519 wrap keys: the DH is the expensive part and peers' keys are fixed per meeting. */
  private cachedWrapKey(role: 'lead' | 'member', peerDh: Uint8Array): Uint8Array | undefined {
    const id = `${role}:${toBase64Url(peerDh)}`;
    const hit = this.wrapKeys.get(id);
    if (hit) return hit;
    const key = role === 'lead' ? wrapKey(this.dh.publicKey, peerDh, peerDh, this.dh.privateKey) : wrapKey(peerDh, this.dh.publicKey, peerDh, this.dh.privateKey);
    if (key) {
      this.wrapKeys.set(id, key);
      this.exportSecret(`wrap key (${role}) with X25519 key ${toBase64Url(peerDh)}`, key);
    }
    return key;
  }

  private rememberRoster(v: VerifiedRoster): void {
    this.head = v;
    this.rosters.set(v.roster.epoch, v);
    for (const epoch of this.rosters.keys()) if (epoch <= v.roster.epoch - KEPT_ROSTERS) this.rosters.delete(epoch);
    for (const m of v.roster.members) {
      this.candidates.delete(m.participantId);
      this.lead?.admitted.delete(m.participantId);
      if (!this.echoes.has(m.participantId)) this.echoes.set(m.participantId, m.nonce);
    }
    // The leader's exclusions become ours: if we lead next, we keep them.
    for (const id of v.roster.excluded) this.exclude(id);
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
        return this.handleChat(from, m.chat);
    }
  }

  private handleAnnounce(from: string, a: Announcement): void {
    if (this.departed.has(from)) return this.reject('PARTICIPANT_ID_REUSED', `announcement from '${from}', who already left`, from);
    if (!this.joinOrder.includes(from)) return this.reject('UNKNOWN_PARTICIPANT', `announcement from '${from}', whom the server never reported`, from);
    if (this.excluded.has(from)) return this.reject('PARTICIPANT_EXCLUDED', `announcement from '${from}', whom the leader removed or denied`, from);
    const checked = verifyAnnouncement(a, { meetingId: this.meetingId, instanceId: this.instanceId, from }, this.verifiedAnnouncements);
    if (!checked.ok) return this.reject(checked.error.code, checked.error.message, from);
    const inRoster = this.head?.roster.members.find((m) => m.participantId === from);
    const known = this.candidates.get(from) ?? (inRoster && { meetingId: this.meetingId, instanceId: this.instanceId, ...inRoster });
    if (known) {
      // Re-broadcasts are normal; new keys under a known ID are not accepted.
      if (!sameAnnouncement(known, a)) this.reject('ANNOUNCEMENT_CONFLICT', `'${from}' announced different keys`, from);
      return;
    }
    this.candidates.set(from, a);
    this.echoes.set(from, a.nonce);
    if (this.lead) {
      this.markDirty();
      this.refreshLobby();
    }
  }

  private handleRoster(from: string, r: Roster): void {
    const result = verifyRoster(r, {
      meetingId: this.meetingId,
      instanceId: this.instanceId,
      from,
      self: this.announcement,
      head: this.head,
      departed: this.departed,
      verifiedAnnouncements: this.verifiedAnnouncements,
    });
    if (!result.ok) {
      // Before our first roster, rosters of epochs we are not part of are expected (they are broadcast).
      if (!this.head && result.error.code === 'NOT_IN_ROSTER') return;
      return this.reject(result.error.code, result.error.message, from);
    }
    if (result.value.kind === 'removed') return this.handleRemoved(result.value.verified.roster.excluded.includes(this.selfId) ? 'removed-by-leader' : 'dropped');
    this.rememberRoster(result.value.verified);
    this.cancel(this.orphanTimer);
    this.orphanTimer = null;
  }

  private handleKeys(from: string, k: KeysMessage): void {
    if (!this.head) return; // not our epoch yet: broadcast key messages reach newcomers too
    const opened = openKeysMessage(k, {
      meetingId: this.meetingId,
      instanceId: this.instanceId,
      selfId: this.selfId,
      from,
      roster: this.rosters.get(k.epoch),
      lastEpoch: this.keyEpoch,
      dh: this.dh,
      acceptableEchoes: this.nonces.acceptable(),
      wrapKeyFor: (leaderDh) => this.cachedWrapKey('member', leaderDh),
    });
    if (!opened.ok) return this.reject(opened.error.code, opened.error.message, from);
    const roster = opened.value.roster;
    this.exportSecret(`epoch ${k.epoch} key`, opened.value.epochKey);
    this.keyEpoch = k.epoch;
    this.nonces.consume(opened.value.echo);
    for (const e of k.entries) this.echoes.set(e.to, e.echo);
    this.installEpoch(roster, opened.value.epochKey);
    const ack = createAck(
      { meetingId: this.meetingId, instanceId: this.instanceId, epoch: k.epoch, participantId: this.selfId, rosterHash: roster.hash, nonce: this.nonces.issue() },
      this.identity,
    );
    this.sendMessage(k.leaderId, { type: 'ack', ack });
  }

  private handleAck(from: string, a: Ack): void {
    const checked = verifyAck(a, { meetingId: this.meetingId, instanceId: this.instanceId, from, selfId: this.selfId, roster: this.rosters.get(a.epoch) });
    if (!checked.ok) return this.reject(checked.error.code, checked.error.message, from);
    this.echoes.set(from, a.nonce);
    const pending = this.lead?.pending;
    if (pending && pending.epoch === a.epoch) {
      pending.awaiting.delete(from);
      if (pending.awaiting.size === 0) this.commit('all-acked');
    }
  }

  private handleCommit(from: string, c: Commit): void {
    if (!this.head) return; // a commit for an epoch before ours
    const checked = verifyCommit(c, {
      meetingId: this.meetingId,
      instanceId: this.instanceId,
      from,
      sendEpoch: this.sendEpoch,
      roster: this.keys.has(c.epoch) ? this.rosters.get(c.epoch) : undefined,
    });
    if (!checked.ok) return this.reject(checked.error.code, checked.error.message, from);
    this.switchTo(c.epoch);
  }

  private handleAdmission(from: string, a: Admission): void {
    if (this.head) {
      // We are a member: a decision about us is stale (we were admitted), one
      // about a newcomer counts only from our leader; we keep its denials.
      if (a.to === this.selfId) return this.reject('STALE_EPOCH', 'admission message about us, who are already a member', from);
      const checked = verifyAdmissionForMember(a, { meetingId: this.meetingId, instanceId: this.instanceId, from, roster: this.rosters.get(a.epoch), departed: this.departed });
      if (!checked.ok) return this.reject(checked.error.code, checked.error.message, from);
      if (a.decision === 'deny') this.exclude(a.to);
      return;
    }
    if (a.to !== this.selfId) return; // about another newcomer: broadcast denials reach us too
    if (!this.isPresent(from)) return this.reject('UNKNOWN_PARTICIPANT', `admission from '${from}', whom the server does not list`, from);
    const checked = verifyAdmissionForNewcomer(a, { meetingId: this.meetingId, instanceId: this.instanceId, from, self: this.announcement });
    if (!checked.ok) return this.reject(checked.error.code, checked.error.message, from);
    // Only a hint for the UI: we cannot know this key leads. Nobody keys us either way.
    const by = { participantId: from, fingerprint: fingerprint(a.leaderKey) };
    if (a.decision === 'wait') return this.setState('lobby', { by });
    this.cancel(this.orphanTimer);
    this.orphanTimer = null;
    this.setState('denied', { by });
  }

  private handleChat(from: string, c: ChatMessage): void {
    if (!this.head) return; // not keyed yet: chat is broadcast, and earlier epochs are unreadable to us by design
    const opened = openChat(c, {
      meetingId: this.meetingId,
      instanceId: this.instanceId,
      from,
      roster: this.rosters.get(c.epoch),
      chatKey: this.keys.get(c.epoch)?.chatKey,
      current: this.head.roster,
      lastSeq: this.chatSeen.get(from) ?? 0,
    });
    if (!opened.ok) return this.reject(opened.error.code, opened.error.message, from);
    this.chatSeen.set(from, c.seq);
    const sender = opened.value.sender;
    this.events.emit('chat', { from, name: sender.name, fingerprint: this.fingerprintOf(sender.identityKey, sender.participantId), text: opened.value.text, epoch: c.epoch, seq: c.seq, at: this.now(), own: false });
  }

  private handleRemoved(reason: 'removed-by-leader' | 'dropped'): void {
    // A valid roster from our leader without us: we no longer get keys. Stop
    // sending now (no send key), keep receive keys for the grace period.
    this.lead = null;
    this.setState('removed', { reason });
    const epochs = this.keys.all();
    this.timer(this.timing.retireAfterMs, () => this.retire(epochs));
  }

  // ---------------------------------------------------------------- departures

  private onDeparture(id: string): void {
    if (this.ended) return;
    if (!this.head) {
      // Still waiting: make sure whoever leads next has our announcement.
      this.sendMessage(null, { type: 'announce', announcement: this.announcement });
      this.armOrphanTimer();
      return;
    }
    if (this.lead) {
      const pending = this.lead.pending;
      if (pending?.awaiting.delete(id) && pending.awaiting.size === 0) this.commit('all-acked');
      if (this.head.roster.members.some((m) => m.participantId === id)) this.markDirty();
      return;
    }
    if (expectedLeader(this.head.roster, this.departed)?.participantId === this.selfId) {
      // Failover: batch with other departures that arrive together (a leader
      // and its successor often go at once).
      this.becomeLeader();
      this.markDirty(true);
    }
  }

  /**
   * Nobody keyed us and everyone the server listed before us is gone: after a
   * grace period (for a leader that has a chain to add us to) we start a new chain.
   */
  private armOrphanTimer(): void {
    if (this.orphanTimer !== null || this.lead) return;
    const ahead = this.joinOrder.slice(0, this.joinOrder.indexOf(this.selfId));
    if (ahead.some(this.isPresent)) return;
    this.orphanTimer = this.timer(this.timing.orphanTimeoutMs, () => {
      this.orphanTimer = null;
      const stillAhead = this.joinOrder.slice(0, this.joinOrder.indexOf(this.selfId)).some(this.isPresent);
      if (this.head || stillAhead || this.ended) return;
      this.becomeLeader();
      return this.flush();
    });
  }

  // ---------------------------------------------------------------- leading

  private becomeLeader(): void {
    if (this.lead) return;
    // A successor inherits the lock from the roster everyone verified; a new chain starts unlocked.
    this.lead = { dirty: true, batchTimer: null, pending: null, lastFlushAt: -Infinity, locked: this.head?.roster.locked ?? false, admitted: new Set(), notified: new Set(), lobbyKey: null };
    this.refreshLobby();
  }

  /** Leader: tell new lobby arrivals to wait, and emit the lobby if it changed. */
  private refreshLobby(): void {
    const lead = this.lead;
    if (!lead || this.ended) return;
    const waiting = lobbyWaiting(this.lobbyInput(lead));
    const head = this.head;
    for (const a of waiting) {
      if (!head || lead.notified.has(a.participantId)) continue;
      lead.notified.add(a.participantId);
      this.sendMessage(a.participantId, { type: 'admission', admission: createAdmission({ roster: head, leaderId: this.selfId, newcomer: a, decision: 'wait' }, this.identity) });
    }
    const key = `${lead.locked}:${waiting.map((a) => a.participantId).join()}`;
    if (key === lead.lobbyKey) return;
    lead.lobbyKey = key;
    this.events.emit('lobby', { locked: lead.locked, waiting: waiting.map(lobbyEntry) });
  }

  /**
   * Leading-edge batching: an isolated change starts its epoch at once (on the
   * next turn, so notices arriving together still share it); changes within
   * batchMs of the last epoch wait out the rest of the window, and changes
   * while an epoch is in flight go into the next one after its commit. So a
   * lone join or leave pays no batching delay, and churn still yields at most
   * one epoch per window.
   */
  private markDirty(fullWindow = false): void {
    const lead = this.lead;
    if (!lead) return;
    lead.dirty = true;
    if (lead.batchTimer || lead.pending) return;
    const wait = fullWindow ? this.timing.batchMs : Math.max(0, lead.lastFlushAt + this.timing.batchMs - this.now());
    lead.batchTimer = this.timer(wait, () => this.flush());
  }

  /** Starts the next epoch if membership changed and no epoch is in flight. */
  private flush(): void {
    const lead = this.lead;
    if (!lead) return;
    this.cancel(lead.batchTimer);
    lead.batchTimer = null;
    if (lead.pending || !lead.dirty) return;
    lead.dirty = false;
    lead.lastFlushAt = this.now();

    const head = this.head;
    const members = planMembers({
      selfId: this.selfId,
      self: this.announcement,
      head: head?.roster ?? null,
      isPresent: this.isPresent,
      candidates: admissible(this.lobbyInput(lead)),
      excluded: this.excluded,
    });
    if (head && sameMembers(head.roster.members, members) && head.roster.locked === lead.locked) return;
    // A new chain continues the meeting's numbering when we saw it, so KIDs stay unique per instance.
    const epoch = Math.min(LIMITS.maxEpoch, (head?.roster.epoch ?? this.epochHint) + 1);
    // IDs the server reported gone are never trusted again anyway; the rest stay excluded (bounded).
    const excluded = [...this.excluded].filter((id) => !this.departed.has(id)).slice(-LIMITS.maxMembers);
    const verified = createRoster(
      { meetingId: this.meetingId, instanceId: this.instanceId, epoch, prevHash: head?.hash ?? GENESIS_HASH, locked: lead.locked, excluded, members },
      this.identity,
    );
    const epochKey = this.random(SIZE.epochKey);
    this.exportSecret(`epoch ${epoch} key`, epochKey);
    const recipients = members.slice(1).map((m) => ({ participantId: m.participantId, dhKey: m.dhKey, echo: this.echoes.get(m.participantId) ?? m.nonce }));
    this.rememberRoster(verified);
    this.keyEpoch = epoch;
    if (recipients.length > 0) {
      const keys = createKeysMessage({
        roster: verified,
        epochKey,
        recipients,
        identity: this.identity,
        dh: this.dh,
        random: this.random,
        wrapKeyFor: (peerDh) => this.cachedWrapKey('lead', peerDh),
      });
      this.sendMessage(null, { type: 'roster', roster: verified.roster });
      this.sendMessage(null, { type: 'keys', keys });
    } else if (head && head.roster.members.length > 1) {
      // Alone now, but someone we removed may still be connected: it learns so from this roster.
      this.sendMessage(null, { type: 'roster', roster: verified.roster });
    }
    this.refreshLobby();
    const awaiting = new Set(recipients.map((r) => r.participantId).filter(this.isPresent));
    this.installEpoch(verified, epochKey);
    if (this.lead !== lead) return; // a receive-keys listener stopped us
    lead.pending = { epoch, awaiting, timer: this.timer(this.timing.commitTimeoutMs, () => this.commit('timeout')) };
    if (awaiting.size === 0) this.commit('all-acked');
  }

  private commit(reason: CommitReason): void {
    const lead = this.lead;
    const pending = lead?.pending;
    const roster = pending && this.rosters.get(pending.epoch);
    if (!lead || !pending || !roster) return;
    this.cancel(pending.timer);
    lead.pending = null;
    if (roster.roster.members.length > 1) {
      const commit = createCommit(
        { meetingId: this.meetingId, instanceId: this.instanceId, epoch: pending.epoch, leaderId: this.selfId, rosterHash: roster.hash, reason },
        this.identity,
      );
      this.sendMessage(null, { type: 'commit', commit });
    }
    this.switchTo(pending.epoch);
    if (lead.dirty && !lead.batchTimer) this.enqueue(() => this.flush());
  }

  // ---------------------------------------------------------------- keys

  private installEpoch(v: VerifiedRoster, epochKey: Uint8Array): void {
    const installed = this.keys.install(v, epochKey);
    this.exportSecret(`epoch ${installed.epoch} chat key`, installed.chatKey);
    // Listeners get copies: we erase ours when the epoch retires.
    this.events.emit('receive-keys', {
      epoch: installed.epoch,
      senders: installed.senders.map((k) => ({ participantId: k.participantId, kid: k.kid, baseKey: k.baseKey.slice() })),
    });
  }

  private switchTo(epoch: number): void {
    const keys = this.keys.get(epoch);
    const roster = this.rosters.get(epoch);
    if (!keys || !roster) return;
    this.sendEpoch = epoch;
    this.events.emit('send-key', { epoch, kid: keys.own.kid, baseKey: keys.own.baseKey.slice() });
    this.events.emit('roster', describeRoster(roster.roster, this.fingerprintOf));
    if (this.state !== 'ok') {
      this.state = 'ok';
      this.stateBy = undefined;
      this.events.emit('status', { state: 'ok', epoch });
    }
    const older = this.keys.epochsBefore(epoch);
    if (older.length > 0) this.timer(this.timing.retireAfterMs, () => this.retire(older));
  }

  private retire(epochs: readonly number[]): void {
    for (const epoch of epochs) if (this.keys.retire(epoch)) this.events.emit('retire-epoch', { epoch });
  }
}

function lobbyEntry(a: Announcement): LobbyEntry {
  return { participantId: a.participantId, name: a.name, fingerprint: fingerprint(a.identityKey) };
}
