// MeetingKeyAgent: the protocol state machine one participant runs, and the
// public API the client and the simulations use. It turns server notices and
// relayed payloads into verified keys, rosters and chat messages. The checks
// live in the pure modules (announcement, roster, key-message, ack, commit,
// admission, chat); the roles live beside this file: leader.ts (pure state
// transitions while we lead, run by leader-runner.ts), member.ts (following a
// leader), epochs.ts (rosters and keys), chat-channel.ts, presence.ts,
// verify-budget.ts (signature checks per sender) and input-queue.ts. This
// class holds them together: the public API, presence notices and the
// dispatch of relayed messages.
//
// Inputs are processed one at a time, in arrival order, on an internal queue
// (each input is one task; tasks may be asynchronous); idle() resolves when
// the queue is empty.
//
// About 500 lines: the roles are split out already; what stays is the public
// API, presence and the dispatch of every message type, which share the queue
// and the roles' wiring. Splitting the dispatch off would pass all of it along.

import { createAnnouncement, VerifiedAnnouncements, type Announcement } from './announcement.ts';
import { ChatChannel } from './chat-channel.ts';
import { DhKeyChain } from './dh-chain.ts';
import { ID_PATTERN, LIMITS, SIZE, TIMING } from './constants.ts';
import { checkDisplayName } from './display-name.ts';
import { Emitter } from './emitter.ts';
import { toBase64Url } from './encoding.ts';
import { Epochs } from './epochs.ts';
import { E2eeError, fail, type E2eeErrorCode, type Result } from './errors.ts';
import type { AgentEvents, AgentOptions, AgentState, AgentTiming, LobbyEntry, StatusEvent, TimerHandle } from './events.ts';
import { readRelay, splitPayload, Reassembler } from './fragment.ts';
import { without } from './id-sets.ts';
import { InputQueue } from './input-queue.ts';
import { KeyWatch } from './key-watch.ts';
import * as leader from './leader.ts';
import { LeaderRunner } from './leader-runner.ts';
import { innerPayloadLimit, LinkSeal, NEW_LINK_SECRET_BYTES, type RelaySeal } from './link.ts';
import { LinkRing } from './link-ring.ts';
import { createLinkUpdate, openLinkUpdate, type LinkUpdate } from './link-update.ts';
import { LivenessNonces } from './liveness.ts';
import { MemberSide } from './member.ts';
import { Presence } from './presence.ts';
import { createResendRequest, verifyResendRequest, type ResendRequest } from './resend.ts';
import { cryptoReady, dhKeyPairFromSeed, systemRandom, wipe, type DhKeyPair, type RandomBytes } from './primitives.ts';
import { expectedLeader, rosterIndexOf, rosterLeader, type VerifiedRoster } from './roster.ts';
import { VerifyBudget } from './verify-budget.ts';
import { encodeMessage, type WireMessage } from './wire.ts';

export type * from './events.ts';

/** How often a leader sends its link update again to a member still on the replaced link. */
const STRAGGLER_RESEND_MS = 2000;

const ONE_SIGNATURE: ReadonlySet<WireMessage['type']> = new Set(['ack', 'commit', 'resend', 'admission', 'chat', 'link']);

export class MeetingKeyAgent {
  private readonly events = new Emitter<AgentEvents>((e) => this.reportInternal(e));
  private readonly selfId: string;
  private readonly onSecretForTest: ((label: string, bytes: Uint8Array) => void) | undefined;
  private readonly send: (to: string | null, payload: string) => void;
  private readonly random: RandomBytes;
  private readonly now: () => number;
  private readonly timing: AgentTiming;
  private readonly maxPayloadChars: number;
  /** Seals what we relay and opens what others relay with the meeting link's key (link.ts), and the links it replaced. */
  private readonly link: LinkRing;
  private readonly newLink: (secret: Uint8Array) => RelaySeal;
  private readonly meeting: { meetingId: string; instanceId: string };
  private readonly identity: AgentOptions['identity'];
  private readonly nonces: LivenessNonces;
  /** Leader: a new link to publish under the first epoch after `after`. */
  private pendingLink: { secret: Uint8Array; after: number } | null = null;
  /** The newest link update we issued or took; its epoch. */
  private linkUpdate: LinkUpdate | null = null;
  /** A link update for an epoch whose key has not reached us yet. */
  private heldLinkUpdate: { from: string; update: LinkUpdate } | null = null;
  /** Members still sending with a replaced link: when we last sent them the update (unicast to them uses that link). */
  private readonly stragglers = new Map<string, number>();
  private readonly queue: InputQueue;

  private readonly dh: DhKeyPair;
  private readonly announcement: Announcement;
  private readonly reassembler: Reassembler;
  /** Our X25519 key pairs for key messages: the announced one and the `next` ones of our acks (dh-chain.ts). */
  private readonly dhKeys: DhKeyChain;
  private readonly presence: Presence;
  private readonly epochs: Epochs;
  private readonly chat: ChatChannel;
  private readonly member: MemberSide;
  /** The stop rule: send under the newest epoch we learned of, or not at all (key-watch.ts). */
  private readonly watch: KeyWatch;

  /**
   * Highest epoch of a roster we verified: where a new chain of ours would
   * continue. Only verified rosters count: a forged message with epoch
   * 2^48 - 1 would otherwise leave a new chain no epochs to rotate to.
   */
  private verifiedEpoch = 0;
  /** Signature checks per relay sender (verify-budget.ts). */
  private readonly budget: VerifyBudget;
  /** The leader state and its timers, while we lead. */
  private readonly lead: LeaderRunner;
  private orphanTimer: TimerHandle | null = null;
  /** When a link-sealed message from each participant last opened (a silent leader is passed over, §5). */
  private readonly heard = new Map<string, number>();
  /**
   * When each participant last sent us something other than an announcement (a newcomer announces
   * again while it waits, which says nothing about whether it will key us): §5, silent participants ahead.
   */
  private readonly spoke = new Map<string, number>();
  /** Since when we wait as a newcomer for those who could key us: our join, a departure, a first roster. */
  private waitingSince = 0;
  private silenceTimer: TimerHandle | null = null;
  private state: AgentState = 'waiting-for-key';
  /** Signer of the lobby or denial message behind the current state. */
  private stateBy: StatusEvent['by'];
  private started = false;

  constructor(opts: AgentOptions) {
    if (!cryptoReady()) throw new E2eeError('CRYPTO_NOT_READY', 'call initCrypto() before creating an agent');
    for (const [name, value] of [
      ['meetingId', opts.meetingId],
      ['instanceId', opts.instanceId],
      ['selfId', opts.selfId],
    ] as const) {
      if (!ID_PATTERN.test(value)) throw new E2eeError('INVALID_ARGUMENT', `${name} is not a valid ID`);
    }
    if (opts.identity.publicKey.length !== SIZE.identityPublicKey || opts.identity.privateKey.length !== SIZE.identityPrivateKey) {
      throw new E2eeError('INVALID_ARGUMENT', 'identity is not an Ed25519 key pair');
    }
    const name = checkDisplayName(opts.displayName ?? '');
    if (!name.ok) throw name.error;
    const { meetingId, instanceId, identity } = opts;
    this.selfId = opts.selfId;
    this.onSecretForTest = opts.onSecretForTest;
    this.send = opts.send;
    this.random = opts.random ?? systemRandom;
    this.now = opts.now ?? (() => Date.now());
    this.timing = { ...TIMING, ...opts.timing };
    this.link = new LinkRing(opts.link);
    this.newLink = opts.newLink ?? ((secret) => new LinkSeal(secret, meetingId, instanceId, this.random));
    this.meeting = { meetingId, instanceId };
    this.identity = identity;
    // Room for the link envelope around each part.
    this.maxPayloadChars = innerPayloadLimit(opts.maxPayloadChars ?? LIMITS.maxRelayPayload);
    this.queue = new InputQueue({
      setTimer: opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms)),
      clearTimer: opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>)),
      stopped: () => this.state === 'stopped',
      onError: (e) => this.reportInternal(e),
    });

    this.dh = dhKeyPairFromSeed(this.random(32));
    this.exportSecret(`X25519 private key of ${this.selfId}`, this.dh.privateKey);
    const nonces = new LivenessNonces(this.random);
    this.nonces = nonces;
    const meeting = { meetingId, instanceId };
    const ours = { participantId: this.selfId, name: name.value, dhKey: this.dh.publicKey, nonce: nonces.latest };
    this.announcement = createAnnouncement({ ...meeting, ...ours }, identity);
    // Announcement signatures verified so far (on receipt), so a roster re-verifies only what is new.
    const verifiedAnnouncements = new VerifiedAnnouncements(2 * LIMITS.maxMembers);
    this.reassembler = new Reassembler({ now: this.now });
    this.budget = new VerifyBudget({ now: this.now });
    this.dhKeys = new DhKeyChain(this.dh, this.random, this.exportSecret, this.selfId);
    this.presence = new Presence({ ...meeting, selfId: this.selfId }, verifiedAnnouncements, this.budget);
    this.epochs = new Epochs(this.selfId, this.events, this.exportSecret);
    const us = { ...meeting, selfId: this.selfId, self: this.announcement, identity };
    this.chat = new ChatChannel({
      ...{ ...us, random: this.random, now: this.now },
      epochs: this.epochs,
      events: this.events,
      send: (to, m) => this.sendMessage(to, m),
      reject: (code, message, from) => this.reject(code, message, from),
    });
    this.member = new MemberSide({
      ...us,
      ...{ nonces, verifiedAnnouncements, presence: this.presence, epochs: this.epochs, dhKeys: this.dhKeys, budget: this.budget },
      exportSecret: this.exportSecret,
      send: (to, m) => this.sendMessage(to, m),
      reject: (code, message, from) => this.reject(code, message, from),
      adopt: (roster) => {
        this.rememberRoster(roster);
        this.cancelOrphanTimer();
        if (this.epochs.sendEpoch === 0) this.waitForSilenceAhead();
      },
      removed: (reason) => this.handleRemoved(reason),
      lateExclusions: (ids) => this.onLateExclusions(ids),
      switchTo: (epoch) => this.switchTo(epoch),
      decided: (decision, by) => {
        if (decision === 'wait') return this.setState('lobby', { by });
        this.cancelOrphanTimer();
        this.setState('denied', { by });
      },
      exclude: (id) => this.exclude(id),
      learned: (epoch, reason) => this.watch.learned(epoch, reason),
      installed: (epoch) => {
        this.watch.keyInstalled(epoch);
        const held = this.heldLinkUpdate;
        if (held && held.update.epoch <= epoch) {
          this.heldLinkUpdate = null;
          this.handleLinkUpdate(held.from, held.update);
        }
      },
      committedEarly: (epoch) => this.watch.committedEarly(epoch),
      catchUp: () => this.requestResend(),
      stuck: () => this.state === 'rekeying' || this.state === 'waiting-for-key',
      leadsAlone: () => this.leadsAlone(),
      leads: () => this.isLeader,
      otherChain: (from, listed) => this.lead.otherChain(from, listed),
      askFirstRoster: (to) => this.requestResend(0, to),
      forked: () => this.requestResend(Math.max(this.epochs.keyEpoch, this.epochs.head?.roster.epoch ?? 0)),
      restarted: () => {
        this.watch.reset();
        const led = this.lead.state !== null;
        // We led a chain of our own (alone, or a provisional one) and took another's roster: we no
        // longer lead, and the keys we sent with are gone until its leader keys us.
        this.lead.end();
        if (this.epochs.sendEpoch === 0 && !led) return;
        if (this.epochs.sendEpoch > 0) {
          this.events.emit('stop-sending', { epoch: this.epochs.sendEpoch, waitingFor: this.verifiedEpoch, reason: 'newer-roster' });
          this.setState('rekeying', { reason: 'newer-roster' });
        }
        // Its leader sent this epoch's keys before we took its roster, or numbered them at or
        // below a key of ours: it starts one above when asked (§7.5a).
        this.queue.enqueue(() => {
          this.requestResend(Math.max(this.epochs.keyEpoch, this.epochs.head?.roster.epoch ?? 0));
          const head = this.epochs.head;
          if (head) this.passOverYielded(rosterLeader(head.roster).participantId, this.epochs.sendEpoch);
        });
      },
    });
    this.watch = new KeyWatch({
      timing: this.timing,
      queue: this.queue,
      // A member that takes over as leader keeps the deadline it learned of the change under: at it,
      // it sends under the epoch it made (or stops until it commits one).
      applies: () => this.state === 'ok' || this.state === 'rekeying',
      sendEpoch: () => this.epochs.sendEpoch,
      keyEpoch: () => this.epochs.keyEpoch,
      switchTo: (epoch) => this.switchTo(epoch),
      stop: (waitingFor, reason) => {
        this.events.emit('stop-sending', { epoch: this.epochs.sendEpoch, waitingFor, reason });
        this.setState('rekeying', { reason });
        this.armPassOver(waitingFor, this.timing.passOverMs - this.timing.keyWaitMs);
        this.member.stopped();
      },
      request: () => this.requestResend(),
    });
    this.lead = new LeaderRunner({
      ...us,
      ...{ random: this.random, timing: this.timing, now: this.now, queue: this.queue, presence: this.presence, epochs: this.epochs },
      epochHint: () => this.verifiedEpoch,
      ended: () => this.ended,
      reject: (code, message, from) => this.reject(code, message, from),
      exportSecret: this.exportSecret,
      send: (to, m) => this.sendMessage(to, m),
      emitLobby: (e) => this.events.emit('lobby', e),
      adopt: (roster) => this.rememberRoster(roster),
      switchTo: (epoch) => this.switchTo(epoch),
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
    return this.lead.state !== null;
  }

  /** The lock we enforce as leader, else the one our newest roster carries. */
  get locked(): boolean {
    return this.lead.state?.locked ?? this.epochs.head?.roster.locked ?? false;
  }

  /** Leader only: who waits in the lobby now, oldest first (empty otherwise). */
  get waiting(): LobbyEntry[] {
    return this.lead.waiting().map(leader.lobbyEntry);
  }

  /** Call once after joining, with the IDs the server says are present, in join order. */
  start(presentIds: readonly string[]): void {
    this.queue.enqueue(() => {
      if (this.started) return this.reject('INVALID_ARGUMENT', 'start() called twice');
      this.started = true;
      const invalid = this.presence.start(presentIds);
      for (let i = 0; i < invalid; i++) this.reject('MALFORMED', 'server sent an invalid participant list entry');
      this.events.emit('status', { state: this.state });
      this.sendMessage(null, { type: 'announce', announcement: this.announcement });
      // Alone at start: we are the first, so we lead and key ourselves at once.
      if (this.presence.first === this.selfId) {
        this.lead.begin();
        return this.lead.run(leader.flush);
      }
      this.reannounce();
      this.waitForSilenceAhead();
    });
  }

  /**
   * Until we send under an epoch, announce again every reannounceMs,
   * reannounceAttempts times (TIMING.reannounceMs says why). Holding a key is
   * not enough: its commit, or a newer roster and key, may have been withheld.
   * On a provisional chain too (roster.ts): a leader ahead whose messages the
   * server dropped answers a member of its epoch that announces again with its
   * roster and keys, and that roster is what takes us to its chain (§7.5a).
   */
  private reannounce(left = this.timing.reannounceAttempts): void {
    if (left <= 0) return;
    this.queue.timer(this.timing.reannounceMs, () => {
      const provisional = this.epochs.head?.roster.provisional ?? false;
      if (this.ended || ((this.epochs.sendEpoch > 0 || this.lead.state) && !provisional)) return;
      this.sendMessage(null, { type: 'announce', announcement: this.announcement });
      this.reannounce(left - 1);
    });
  }

  onPeerJoined(participantId: string): void {
    this.queue.enqueue(() => {
      if (!this.isPeer(participantId)) return this.reject('MALFORMED', 'server announced an invalid participant ID');
      if (this.presence.departed.has(participantId)) {
        return this.reject('PARTICIPANT_ID_REUSED', `'${participantId}' already left this meeting`);
      }
      if (!this.presence.joined(participantId)) return;
      if (this.presence.candidates.has(participantId)) this.lead.run(leader.markDirty);
    });
  }

  onPeerLeft(participantId: string): void {
    this.queue.enqueue(() => {
      if (!this.isPeer(participantId)) return this.reject('MALFORMED', 'server reported an invalid participant leaving');
      if (!this.presence.left(participantId)) return;
      this.onDeparture(participantId);
      this.member.left(participantId);
      if (!this.ended) this.lead.run(leader.refreshLobby);
    });
  }

  onRelay(from: string, payload: string): void {
    this.queue.enqueue(() => this.handleRelay(from, payload));
  }

  // The leader's admission controls: see LeaderRunner.action.

  /** Leader only: lock or unlock the meeting. The next roster (a new epoch) carries it to everyone. */
  setLocked(locked: boolean): Result<void> {
    return this.lead.action(
      () => (typeof locked === 'boolean' ? this.lead.require('lock') : fail('INVALID_ARGUMENT', 'locked must be a boolean')),
      () => this.lead.run((s, ctx, now) => leader.setLock(s, ctx, now, locked)),
    );
  }

  /** Leader only: let a waiting newcomer in; it is keyed with the next epoch. */
  admit(participantId: string): Result<void> {
    return this.lead.action(
      () => this.lead.requireWaiting(participantId),
      () => this.lead.run((s, ctx, now) => leader.admit(s, ctx, now, participantId)),
    );
  }

  /** Leader only: refuse a waiting newcomer; it is told so and never added by this chain. */
  deny(participantId: string): Result<void> {
    return this.lead.action(
      () => this.lead.requireWaiting(participantId),
      () => {
        const newcomer = this.presence.candidates.get(participantId);
        this.exclude(participantId);
        this.lead.run((s, ctx) => leader.deny(s, ctx, newcomer));
      },
    );
  }

  /** Leader only: drop a member; the next epoch (fresh key) excludes it, and so does every later roster. */
  remove(participantId: string): Result<void> {
    return this.lead.action(
      () => {
        const lead = this.lead.require('remove');
        if (!lead.ok) return lead;
        if (participantId === this.selfId) return fail('INVALID_ARGUMENT', 'the leader cannot remove itself (leave instead)');
        const head = this.epochs.head;
        if (!head || rosterIndexOf(head.roster, participantId) < 0) return fail('NOT_A_MEMBER', `'${participantId}' is not in the roster`);
        return lead;
      },
      () => {
        this.exclude(participantId);
        // The removed member holds our epoch: the stop rule binds us as it binds members.
        const head = this.epochs.head;
        if (head) this.watch.learned(head.roster.epoch + 1, 'member-left');
        this.lead.run(leader.markDirty);
      },
    );
  }

  /**
   * Leader only: replaces the meeting link (the remedy for a leaked one). A
   * new epoch starts at once; under it every member receives the new secret
   * (the 'link' event), and from then on the old link admits nobody new.
   */
  issueNewLink(): Result<void> {
    return this.lead.action(
      () => this.lead.require('issue a new link'),
      () => {
        if (this.pendingLink) wipe(this.pendingLink.secret);
        this.pendingLink = { secret: this.random(NEW_LINK_SECRET_BYTES), after: this.epochs.keyEpoch };
        this.lead.run(leader.rotate);
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
    this.dhKeys.clear();
    wipe(this.dh.privateKey);
    this.reassembler.clear();
    this.link.destroy();
    if (this.pendingLink) wipe(this.pendingLink.secret);
    this.lead.end();
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

  /** A well-formed ID that is not ours (server notices name others). */
  private isPeer(participantId: string): boolean {
    return ID_PATTERN.test(participantId) && participantId !== this.selfId;
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

  /** Sealed with the current link; to a member that still sends with a replaced one (or `previous`), with that. */
  private sendMessage(to: string | null, m: WireMessage, previous = false): void {
    const messageId = toBase64Url(this.random(9));
    const old = previous || (to !== null && this.stragglers.has(to));
    for (const part of splitPayload(encodeMessage(m), this.maxPayloadChars, messageId)) {
      this.send(to, old ? this.link.sealPrevious(this.selfId, part) : this.link.seal(this.selfId, part));
    }
  }

  private cancelOrphanTimer(): void {
    this.queue.cancel(this.orphanTimer);
    this.orphanTimer = null;
  }

  /** Excluded participants are never added again, and drop out of the lobby. */
  private exclude(participantId: string): void {
    this.presence.exclude(participantId);
    this.lead.forget([participantId]);
  }

  private rememberRoster(v: VerifiedRoster): void {
    this.verifiedEpoch = Math.max(this.verifiedEpoch, v.roster.epoch);
    this.epochs.adopt(v);
    this.presence.adopt(v.roster);
    this.lead.forget(v.roster.members.map((m) => m.participantId));
    // The leader's exclusions become ours: if we lead next, we keep them.
    for (const id of v.roster.excluded) this.exclude(id);
  }

  /** We lead, and no other member of our head ever acked an epoch of our chain (nor did the roster we took over say so). */
  private leadsAlone(): boolean {
    const s = this.lead.state;
    const head = this.epochs.head;
    // Not while an epoch of ours waits for acks: a newcomer may be about to ack it.
    if (!s || !head || s.pending) return false;
    return head.roster.members.every((m) => m.participantId === this.selfId || !s.acking.has(m.participantId));
  }

  // ---------------------------------------------------------------- lobby and epochs

  private switchTo(epoch: number): void {
    // Stopped for a newer epoch, an older one's late commit must not resume sending; and a leader
    // that switched at its deadline gets its own commit for the same epoch.
    if (this.watch.outdated(epoch) || (epoch === this.epochs.sendEpoch && this.state === 'ok')) return;
    const older = this.epochs.switchTo(epoch);
    if (!older) return;
    this.watch.switched(epoch);
    if (this.pendingLink && this.lead.state && epoch > this.pendingLink.after) this.publishLink(epoch, this.pendingLink.secret);
    if (this.state !== 'ok') this.setState('ok');
    // Our own epoch committed with nobody else having acked our chain: a chain we refused may take us (§7.5a).
    if (this.leadsAlone()) this.queue.enqueue(() => this.member.alone());
    if (older.length > 0) this.queue.timer(this.timing.retireAfterMs, () => this.epochs.retire(older));
    // A leave we heard of before this epoch's roster reached us (the server reordered them): the
    // leaver holds this epoch too, so it is as outdated as the one the leave made us leave.
    const roster = this.epochs.roster(epoch)?.roster;
    if (roster?.members.some((m) => this.presence.departed.has(m.participantId))) this.watch.learned(epoch + 1, 'member-left');
  }

  /**
   * Asks the leader our head names for its newest epoch (and the rosters since our newest key).
   * `have` above our newest key says our head is on another chain than the leader's (§7.5a).
   */
  private requestResend(have = this.epochs.keyEpoch, leader?: string): void {
    const to = leader ?? (this.epochs.head && expectedLeader(this.epochs.head.roster, this.presence.departed)?.participantId);
    if (!to || to === this.selfId || (this.lead.state && !leader)) return;
    const request = { ...this.meeting, participantId: this.selfId, have, nonce: this.nonces.latest };
    this.sendMessage(to, { type: 'resend', resend: createResendRequest(request, this.identity) });
  }

  /**
   * A roster our previous leader signed before it left, held back until its successor led without
   * it (§7.5a, late rosters): whom it removed is out of our chain too. A member of our epoch among
   * them holds its key, so that is a change like a leave: the next epoch (ours, if we lead) drops
   * it, and until then the stop rule's deadline runs.
   */
  private onLateExclusions(ids: readonly string[]): void {
    const head = this.epochs.head;
    let member = false;
    for (const id of ids) {
      if (this.presence.excluded.has(id)) continue;
      this.exclude(id);
      if (head && rosterIndexOf(head.roster, id) >= 0) member = true;
    }
    if (!member || !head) return;
    this.watch.learned(head.roster.epoch + 1, 'member-left');
    if (this.lead.state) this.lead.run((s, ctx, now) => leader.markDirty(s, ctx, now));
  }

  // ---------------------------------------------------------------- the meeting link

  /** Leader: the new link goes to every member of `epoch`, sealed with the link they hold now; then we take it. */
  private publishLink(epoch: number, secret: Uint8Array): void {
    this.pendingLink = null;
    const key = this.epochs.installed(epoch)?.linkKey;
    if (!key) return wipe(secret);
    const update = createLinkUpdate({ ...this.meeting, epoch, leaderId: this.selfId, secret, key }, this.identity, this.random);
    this.sendMessage(null, { type: 'link', link: update });
    this.takeLink(secret, update);
  }

  /** A new link from the leader: we take it once it verifies under an epoch whose key we hold. */
  private handleLinkUpdate(from: string, update: LinkUpdate): void {
    if (this.linkUpdate && update.epoch <= this.linkUpdate.epoch) return;
    const installed = this.epochs.installed(update.epoch);
    const check = { ...this.meeting, from, roster: this.epochs.roster(update.epoch), key: installed?.linkKey };
    const opened = openLinkUpdate(update, check);
    if (!opened.ok) {
      // Its epoch's key may still be on its way (the server reordered them): hold the newest one.
      if (opened.error.code === 'UNKNOWN_EPOCH' && update.epoch > this.epochs.keyEpoch) this.heldLinkUpdate = { from, update };
      return this.reject(opened.error.code, opened.error.message, from);
    }
    this.takeLink(opened.value, update);
  }

  private takeLink(secret: Uint8Array, update: LinkUpdate): void {
    // Those keyed for the epoch it came with may still use the old link until they take the new one; nobody else.
    const members = new Set(this.epochs.roster(update.epoch)?.roster.members.map((m) => m.participantId) ?? []);
    this.link.replace(this.newLink(secret), members);
    const dropped = this.presence.relinked(members);
    this.lead.forget(dropped);
    this.linkUpdate = update;
    this.exportSecret('meeting link secret', secret);
    this.events.emit('link', { secret: toBase64Url(secret), epoch: update.epoch, leaderId: update.leaderId });
    wipe(secret);
    if (dropped.length > 0) this.lead.run(leader.refreshLobby);
  }

  /** A member sent with a replaced link: it missed the update. Its leader sends it again (at most every 2 s). */
  private onStraggler(from: string): void {
    const update = this.linkUpdate;
    const last = this.stragglers.get(from) ?? -Infinity;
    this.stragglers.set(from, last);
    if (!update || update.leaderId !== this.selfId || this.now() - last < STRAGGLER_RESEND_MS) return;
    this.stragglers.set(from, this.now());
    this.sendMessage(from, { type: 'link', link: update });
  }

  // ---------------------------------------------------------------- presence

  private onDeparture(id: string): void {
    if (this.ended) return;
    // Who could key us changed: their successor gets the whole wait again.
    if (this.started && this.epochs.sendEpoch === 0 && !this.lead.state) this.waitForSilenceAhead();
    const head = this.epochs.head;
    if (!head) {
      // Still waiting: make sure whoever leads next has our announcement.
      this.sendMessage(null, { type: 'announce', announcement: this.announcement });
      this.armOrphanTimer();
      return;
    }
    if (this.lead.state) {
      // The leader is bound by the same rule: a new epoch within keyWaitMs (even before its commit), or it stops.
      if (rosterIndexOf(head.roster, id) >= 0) this.watch.learned(head.roster.epoch + 1, 'member-left');
      return this.lead.run((s, ctx, now) => leader.participantLeft(s, ctx, now, id));
    }
    const next = expectedLeader(head.roster, this.presence.departed)?.participantId;
    if (next !== this.selfId && expectedLeader(head.roster, without(this.presence.departed, [id]))?.participantId === id) {
      // Our leader left: its successor never saw our acks, and key messages no longer carry other
      // members' entries, so we tell it our newest liveness nonce (a resend request carries it) for
      // its first key message to echo (§4.3).
      this.requestResend();
      // Stopped already (the deadline ran out before it left): the pass-over clock starts for its
      // successor now, as it would have at the stop.
      if (this.state === 'rekeying' && next) this.armPassOver(head.roster.epoch + 1, this.timing.passOverMs);
    }
    if (next === this.selfId) {
      // Failover: batch with other departures that arrive together (a leader
      // and its successor often go at once).
      this.takeOver(head);
    }
    // A member of our epoch left: it holds that epoch's key, so we must move on to the next one (or stop).
    if (rosterIndexOf(head.roster, id) >= 0) this.watch.learned(head.roster.epoch + 1, 'member-left');
  }

  /**
   * Stopped for a change whose roster has not come: if the leader we expect has sent nothing since we
   * learned of the change, it is passed over at passOverMs, as if it had left (§5).
   */
  private armPassOver(waitingFor: number, delay: number): void {
    const since = this.now() + delay - this.timing.passOverMs;
    this.queue.timer(delay, () => {
      const head = this.epochs.head;
      if (this.ended || this.lead.state || this.state !== 'rekeying' || !head || head.roster.epoch >= waitingFor) return;
      if (this.epochs.sendEpoch >= waitingFor) return;
      const silent = expectedLeader(head.roster, this.presence.departed)?.participantId;
      if (!silent || silent === this.selfId || (this.heard.get(silent) ?? -Infinity) >= since) return;
      this.reject('LEADER_PASSED_OVER', `no epoch from '${silent}', the next leader, ${this.timing.passOverMs} ms after a change`, silent);
      if (!this.presence.left(silent, true)) return;
      this.onDeparture(silent);
      this.requestResend();
      // The next in line may be silent too: the rule applies again.
      this.armPassOver(Math.max(waitingFor, head.roster.epoch + 1), this.timing.passOverMs);
    });
  }

  /**
   * We yielded our lone chain to `leaderId`'s (§7.5a): if it has not keyed us onto its chain
   * passOverMs later (a participant of the server's, holding the link, can send a roster and no
   * keys), it is passed over like a silent leader and the failover takes it from there.
   */
  private passOverYielded(leaderId: string, sendEpoch: number): void {
    this.queue.timer(this.timing.passOverMs, () => {
      const head = this.epochs.head;
      if (this.ended || this.lead.state || this.epochs.sendEpoch !== sendEpoch || !head) return;
      if (rosterLeader(head.roster).participantId !== leaderId) return;
      this.reject('LEADER_PASSED_OVER', `'${leaderId}' sent us its roster and no key for ${this.timing.passOverMs} ms`, leaderId);
      if (!this.presence.left(leaderId, true)) return;
      this.onDeparture(leaderId);
      this.requestResend();
    });
  }

  /**
   * A resend request while we do not lead, from the member our head names as
   * next leader: it expects us to lead (its head, another than ours, names us),
   * so neither would ever key the other. The one of the two the server listed
   * first takes over from its head, as at a failover (§5), keeping the other
   * in its roster; the other takes that roster as a graft (§7.5a).
   */
  private askedToLead(from: string, r: ResendRequest): void {
    const head = this.epochs.head;
    if (!head || this.ended || rosterIndexOf(head.roster, this.selfId) < 0) return;
    if (expectedLeader(head.roster, this.presence.departed)?.participantId !== from || !this.presence.joinedAfter(from)) return;
    const checked = verifyResendRequest(r, { meetingId: this.meeting.meetingId, instanceId: this.meeting.instanceId, from, roster: head });
    if (!checked.ok) return this.reject(checked.error.code, checked.error.message, from);
    this.takeOver(head);
  }

  /**
   * We lead on from `head` (§5): our next epoch replaces any of the old
   * leader's we learned of and never got, and it starts after a full batch
   * window, so changes that arrive together share it.
   */
  private takeOver(head: VerifiedRoster): void {
    this.lead.begin();
    this.watch.leading(head.roster.epoch + 1);
    this.lead.run((s, ctx, now) => leader.markDirty(s, ctx, now, true));
  }

  /**
   * A newcomer waits for those who could key it: everyone present the server listed before it, and
   * the leader its first roster names. When none of them has sent it anything but announcements for
   * silentAheadMs (since it joined, someone left, or a first roster came), it stops waiting: any
   * first roster it holds goes (it never keyed us, or never committed) and it starts a chain of its
   * own, provisional while they stay (roster.ts), which merges into theirs if one of them turns out
   * to lead one the server kept from us (§5, silent participants ahead; §7.5a). The server can make
   * an honest leader look silent for as long as it likes; that costs a fork that heals, not a stall.
   */
  private watchSilenceAhead(delay: number): void {
    this.queue.cancel(this.silenceTimer);
    this.silenceTimer = this.queue.timer(delay, () => {
      this.silenceTimer = null;
      if (this.ended || this.lead.state || this.epochs.sendEpoch > 0) return;
      // A leader told us to wait in its lobby: it decides, not silence.
      if (this.state !== 'waiting-for-key') return;
      const head = this.epochs.head;
      const awaited = this.presence.ahead().filter((id) => this.presence.isPresent(id));
      const next = head && expectedLeader(head.roster, this.presence.departed)?.participantId;
      if (next && next !== this.selfId && !awaited.includes(next)) awaited.push(next);
      if (awaited.length === 0) {
        // Next in our first roster (its leader left before it reached us): we lead on from it, as at a failover.
        if (head && next === this.selfId) return this.takeOver(head);
        // Nobody ahead and no first roster: the orphan rule applies. (A departure or a roster arms us again.)
        if (!head) this.armOrphanTimer();
        return;
      }
      // One listed before us that still announces waits too, and goes first; one after us that only announces does not count.
      const lastFrom = (id: string) => (this.presence.joinedBefore(id) ? this.heard : this.spoke).get(id) ?? -Infinity;
      const last = Math.max(this.waitingSince, ...awaited.map(lastFrom));
      const due = last + this.timing.silentAheadMs - this.now();
      if (due > 0) return this.watchSilenceAhead(due);
      const silent = awaited.map((id) => `'${id}'`).join(', ');
      this.reject('SILENT_AHEAD', `nothing from ${silent} for ${this.timing.silentAheadMs} ms: starting a provisional chain`);
      if (head) this.dropFirstRoster(head);
      // Not in our chain's first epoch: it would wait a commit timeout for their acks. An honest one
      // among them leads a chain the server keeps from us, and takes us in when it gets through.
      this.presence.setAside(awaited);
      this.lead.begin();
      this.lead.run(leader.flush);
    });
  }

  /** The wait for those who could key us starts (again) now. */
  private waitForSilenceAhead(): void {
    this.waitingSince = this.now();
    this.watchSilenceAhead(this.timing.silentAheadMs);
  }

  /** A first roster nobody keyed us under (or committed): it goes, and its other members are candidates again. */
  private dropFirstRoster(head: VerifiedRoster): void {
    this.watch.reset();
    this.epochs.restartChain();
    this.presence.restore(head.roster, this.meeting);
  }

  /**
   * Nobody keyed us and everyone the server listed before us is gone: after a
   * grace period (for a leader that has a chain to add us to) we start a new chain.
   */
  private armOrphanTimer(): void {
    if (this.orphanTimer !== null || this.lead.state || this.presence.anyoneAhead()) return;
    this.orphanTimer = this.queue.timer(this.timing.orphanTimeoutMs, () => {
      this.orphanTimer = null;
      if (this.epochs.head || this.presence.anyoneAhead() || this.ended) return;
      this.lead.begin();
      this.lead.run(leader.flush);
    });
  }

  // ---------------------------------------------------------------- inbound

  private handleRelay(from: string, payload: string): void {
    if (this.ended) return;
    if (typeof from !== 'string' || !ID_PATTERN.test(from)) return this.reject('MALFORMED', 'relay from an invalid participant ID');
    if (from === this.selfId) return this.reject('SENDER_MISMATCH', 'relay claims to come from us', from);
    if (typeof payload !== 'string') return this.reject('MALFORMED', 'relay payload is not a string', from);
    // The server forwards nothing larger; a bigger one is not worth opening.
    if (payload.length > LIMITS.maxRelayPayload) return this.reject('TOO_LARGE', `payload of ${payload.length} characters`, from);
    const opened = this.link.open(from, payload);
    if (!opened.ok) return this.onNoLinkProof(from, opened.error);
    this.heard.set(from, this.now());
    if (opened.value.retired) this.onStraggler(from);
    else this.stragglers.delete(from);
    if (this.presence.proved(from)) this.events.emit('outsider', { participantId: from, outside: false });
    const read = readRelay(this.reassembler, from, opened.value.value);
    if (!read.ok) return this.reject(read.error.code, read.error.message, from);
    const m = read.value;
    if (m === null) return;
    if (m.type !== 'announce') this.spoke.set(from, this.now());
    // Rosters, key messages and announcements are charged per signature check where they are verified;
    // every other signed message carries exactly one signature.
    if (ONE_SIGNATURE.has(m.type) && !this.budget.take(from)) {
      return this.reject('RATE_LIMITED', `too many signature checks for '${from}': ${m.type} dropped`, from);
    }
    switch (m.type) {
      case 'announce':
        return this.handleAnnounce(from, m.announcement);
      case 'roster':
        return this.member.roster(from, m.roster);
      case 'delta':
        return this.member.delta(from, m.delta);
      case 'keys':
        return this.member.keys(from, m.keys);
      case 'ack':
        return this.lead.ack(from, m.ack);
      case 'commit':
        return this.member.commit(from, m.commit);
      case 'resend':
        return this.lead.state ? this.lead.resend(from, m.resend) : this.askedToLead(from, m.resend);
      case 'admission':
        return this.member.admission(from, m.admission);
      case 'chat':
        return this.chat.receive(from, m.chat);
      case 'link':
        return this.handleLinkUpdate(from, m.link);
    }
  }

  /**
   * A payload our link does not open: its sender lacks our link (another
   * link, or the server's own participant), or the server forged it. Nothing
   * in it is read. The first time, we say so, send the sender our announcement
   * (so an honest holder of another link learns that we are outside its
   * meeting too, and stops waiting for us), and stop waiting for it ourselves.
   */
  private onNoLinkProof(from: string, error: E2eeError): void {
    this.reject(error.code, error.message, from);
    if (!this.presence.failedProof(from)) return;
    this.events.emit('outsider', {
      participantId: from,
      outside: true,
      reason: error.code === 'LINK_RETIRED' ? 'link-retired' : 'no-link',
    });
    if (this.presence.isPresent(from)) this.sendMessage(from, { type: 'announce', announcement: this.announcement });
    if (!this.epochs.head) this.armOrphanTimer();
  }

  private handleAnnounce(from: string, a: Announcement): void {
    const added = this.presence.announce(from, a, this.epochs.head?.roster ?? null);
    if (!added.ok) return this.reject(added.error.code, added.error.message, from);
    if (added.value) this.lead.run(leader.candidatesChanged);
    // Announcing again although we keyed it: what we sent it did not arrive.
    else this.lead.reannounced(from);
  }

  private handleRemoved(reason: 'removed-by-leader' | 'dropped'): void {
    // A valid roster from our leader without us: we no longer get keys. Stop
    // sending now (no send key), keep receive keys for the grace period.
    this.lead.end();
    this.watch.reset();
    this.setState('removed', { reason });
    const epochs = this.epochs.held();
    this.queue.timer(this.timing.retireAfterMs, () => this.epochs.retire(epochs));
  }
}
