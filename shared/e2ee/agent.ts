// MeetingKeyAgent: the protocol state machine one participant runs. It turns
// server notices and relayed payloads into verified keys and rosters. All
// checks live in the pure modules (announcement, roster, key-message, ack,
// commit); this class only keeps state, schedules timers and sends messages.
//
// Inputs are processed one at a time, in arrival order, on an internal queue
// (frame key derivation is asynchronous WebCrypto); idle() resolves when the
// queue is empty.

import { createAck, verifyAck, type Ack } from './ack.ts';
import { createAnnouncement, sameAnnouncement, verifyAnnouncement, type Announcement } from './announcement.ts';
import { decodeMessage, encodeMessage, type WireMessage } from './codec.ts';
import { createCommit, verifyCommit, type Commit, type CommitReason } from './commit.ts';
import { ID_PATTERN, LIMITS, SIZE, TIMING } from './constants.ts';
import { Emitter } from './emitter.ts';
import { toBase64Url } from './encoding.ts';
import { E2eeError, type E2eeErrorCode } from './errors.ts';
import type { AgentEvents, AgentOptions, AgentState, AgentTiming, TimerHandle } from './events.ts';
import { splitPayload, Reassembler } from './fragment.ts';
import type { IdentityKeyPair } from './identity.ts';
import { EpochKeyRing } from './key-ring.ts';
import { createKeysMessage, openKeysMessage, type KeysMessage } from './key-message.ts';
import { LivenessNonces } from './liveness.ts';
import { planMembers, sameMembers } from './membership.ts';
import { cryptoReady, dhKeyPairFromSeed, systemRandom, wipe, wrapKey, type DhKeyPair, type RandomBytes } from './primitives.ts';
import { createRoster, expectedLeader, GENESIS_HASH, verifyRoster, type Roster, type VerifiedRoster } from './roster.ts';
import { describeRoster } from './roster-view.ts';

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
}

const KEPT_ROSTERS = 8;

export class MeetingKeyAgent {
  private readonly events = new Emitter<AgentEvents>((e) => this.reportInternal(e));
  private readonly meetingId: string;
  private readonly instanceId: string;
  private readonly selfId: string;
  private readonly identity: IdentityKeyPair;
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

  /** Server's join order (including us), and who it said left. */
  private readonly joinOrder: string[] = [];
  private readonly departed = new Set<string>();
  /** Verified announcements of present participants not yet in our head roster. */
  private readonly candidates = new Map<string, Announcement>();
  /** Latest liveness nonce we know per participant, echoed if we lead. */
  private readonly echoes = new Map<string, Uint8Array>();

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
    this.meetingId = opts.meetingId;
    this.instanceId = opts.instanceId;
    this.selfId = opts.selfId;
    this.identity = opts.identity;
    this.send = opts.send;
    this.random = opts.random ?? systemRandom;
    this.now = opts.now ?? (() => Date.now());
    this.timing = { ...TIMING, ...opts.timing };
    this.maxPayloadChars = opts.maxPayloadChars ?? LIMITS.maxRelayPayload;
    this.setTimerFn = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimerFn = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));

    this.dh = dhKeyPairFromSeed(this.random(32));
    this.nonces = new LivenessNonces(this.random);
    this.announcement = createAnnouncement(
      { meetingId: this.meetingId, instanceId: this.instanceId, participantId: this.selfId, dhKey: this.dh.publicKey, nonce: this.nonces.latest },
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
    });
  }

  onRelay(from: string, payload: string): void {
    this.enqueue(() => this.handleRelay(from, payload));
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

  private setState(state: AgentState): void {
    if (this.state === state) return;
    this.state = state;
    this.events.emit('status', this.sendEpoch > 0 ? { state, epoch: this.sendEpoch } : { state });
  }

  private sendMessage(to: string | null, m: WireMessage): void {
    const messageId = toBase64Url(this.random(9));
    for (const part of splitPayload(encodeMessage(m), this.maxPayloadChars, messageId)) this.send(to, part);
  }

  private isPresent = (id: string): boolean => !this.departed.has(id) && this.joinOrder.includes(id);

  /** Cached X25519 wrap keys: the DH is the expensive part and peers' keys are fixed per meeting. */
  private cachedWrapKey(role: 'lead' | 'member', peerDh: Uint8Array): Uint8Array | undefined {
    const id = `${role}:${toBase64Url(peerDh)}`;
    const hit = this.wrapKeys.get(id);
    if (hit) return hit;
    const key = role === 'lead' ? wrapKey(this.dh.publicKey, peerDh, peerDh, this.dh.privateKey) : wrapKey(peerDh, this.dh.publicKey, peerDh, this.dh.privateKey);
    if (key) this.wrapKeys.set(id, key);
    return key;
  }

  private rememberRoster(v: VerifiedRoster): void {
    this.head = v;
    this.rosters.set(v.roster.epoch, v);
    for (const epoch of this.rosters.keys()) if (epoch <= v.roster.epoch - KEPT_ROSTERS) this.rosters.delete(epoch);
    for (const m of v.roster.members) {
      this.candidates.delete(m.participantId);
      if (!this.echoes.has(m.participantId)) this.echoes.set(m.participantId, m.nonce);
    }
  }

  // ---------------------------------------------------------------- inbound

  private async handleRelay(from: string, payload: string): Promise<void> {
    if (this.state === 'removed') return;
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
    }
  }

  private handleAnnounce(from: string, a: Announcement): void {
    if (this.departed.has(from)) return this.reject('PARTICIPANT_ID_REUSED', `announcement from '${from}', who already left`, from);
    if (!this.joinOrder.includes(from)) return this.reject('UNKNOWN_PARTICIPANT', `announcement from '${from}', whom the server never reported`, from);
    const checked = verifyAnnouncement(a, { meetingId: this.meetingId, instanceId: this.instanceId, from });
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
    if (this.lead) this.markDirty();
  }

  private handleRoster(from: string, r: Roster): void {
    const result = verifyRoster(r, {
      meetingId: this.meetingId,
      instanceId: this.instanceId,
      from,
      self: this.announcement,
      head: this.head,
      departed: this.departed,
    });
    if (!result.ok) {
      // Before our first roster, rosters of epochs we are not part of are expected (they are broadcast).
      if (!this.head && result.error.code === 'NOT_IN_ROSTER') return;
      return this.reject(result.error.code, result.error.message, from);
    }
    if (result.value.kind === 'removed') return this.handleRemoved();
    this.rememberRoster(result.value.verified);
    this.cancel(this.orphanTimer);
    this.orphanTimer = null;
  }

  private async handleKeys(from: string, k: KeysMessage): Promise<void> {
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
    this.keyEpoch = k.epoch;
    this.nonces.consume(opened.value.echo);
    for (const e of k.entries) this.echoes.set(e.to, e.echo);
    await this.installEpoch(roster, opened.value.epochKey);
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

  private handleRemoved(): void {
    // A valid roster from our leader without us: we no longer get keys. Stop
    // sending now (no send key), keep receive keys for the grace period.
    this.lead = null;
    this.setState('removed');
    const epochs = this.keys.all();
    this.timer(this.timing.retireAfterMs, () => this.retire(epochs));
  }

  // ---------------------------------------------------------------- departures

  private onDeparture(id: string): void {
    if (this.state === 'removed') return;
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
      // Failover: batch with other departures that arrive together.
      this.becomeLeader();
      this.markDirty();
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
      if (this.head || stillAhead) return;
      this.becomeLeader();
      return this.flush();
    });
  }

  // ---------------------------------------------------------------- leading

  private becomeLeader(): void {
    if (this.lead) return;
    this.lead = { dirty: true, batchTimer: null, pending: null };
  }

  private markDirty(): void {
    const lead = this.lead;
    if (!lead) return;
    lead.dirty = true;
    if (!lead.batchTimer && !lead.pending) lead.batchTimer = this.timer(this.timing.batchMs, () => this.flush());
  }

  /** Starts the next epoch if membership changed and no epoch is in flight. */
  private async flush(): Promise<void> {
    const lead = this.lead;
    if (!lead) return;
    this.cancel(lead.batchTimer);
    lead.batchTimer = null;
    if (lead.pending || !lead.dirty) return;
    lead.dirty = false;

    const head = this.head;
    const members = planMembers({ selfId: this.selfId, self: this.announcement, head: head?.roster ?? null, isPresent: this.isPresent, candidates: this.candidates.values() });
    if (head && sameMembers(head.roster.members, members)) return;
    // A new chain continues the meeting's numbering when we saw it, so KIDs stay unique per instance.
    const epoch = Math.min(LIMITS.maxEpoch, (head?.roster.epoch ?? this.epochHint) + 1);
    const verified = createRoster({ meetingId: this.meetingId, instanceId: this.instanceId, epoch, prevHash: head?.hash ?? GENESIS_HASH, members }, this.identity);
    const epochKey = this.random(SIZE.epochKey);
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
    }
    const awaiting = new Set(recipients.map((r) => r.participantId).filter(this.isPresent));
    await this.installEpoch(verified, epochKey);
    if (this.lead !== lead) return; // stopped meanwhile
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

  private async installEpoch(v: VerifiedRoster, epochKey: Uint8Array): Promise<void> {
    const installed = await this.keys.install(v, epochKey);
    if (this.state === 'stopped') return;
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
    this.events.emit('roster', describeRoster(roster.roster));
    if (this.state !== 'ok') {
      this.state = 'ok';
      this.events.emit('status', { state: 'ok', epoch });
    }
    const older = this.keys.epochsBefore(epoch);
    if (older.length > 0) this.timer(this.timing.retireAfterMs, () => this.retire(older));
  }

  private retire(epochs: readonly number[]): void {
    for (const epoch of epochs) if (this.keys.retire(epoch)) this.events.emit('retire-epoch', { epoch });
  }
}
