// The meeting controller: joins through signaling, publishes local media,
// consumes everyone else's and keeps the participant state the UI renders.
// It has no DOM code; the view subscribes to its changes.

import type { JoinResult, JsonObject, MediaSource, MeetingMode, ProducerInfo, ServerNotice } from '../../shared/protocol/signaling.ts';
import { MediaSession, type ConsumeFailure, type FrameHooks, type ReceiveGate, type RemoteTrack } from './media/sfu-session.ts';
import { Signaling, SignalingError } from './signaling.ts';
import { RECONNECT_POLICY, backoffDelay } from './net/backoff.ts';
import type { ReconnectCause, ReconnectStatus } from './net/reconnect-status.ts';

/** Join refusals that a reconnect cannot get past: the meeting screen says why instead of retrying. */
const REFUSALS: ReadonlySet<string> = new Set(['MEETING_FULL', 'CALL_FULL', 'MODE_MISMATCH', 'UNSUPPORTED_VERSION']);

/**
 * One reconnect attempt (socket, join, media set-up) that has not finished by
 * then is abandoned and the next one scheduled: a server that accepts the
 * socket but never answers must not hold the meeting in "reconnecting" forever.
 */
const RECONNECT_ATTEMPT_TIMEOUT_MS = 15_000;
import { constraintsFor } from './media/devices.ts';

/** Bound on notices buffered while the join response is outstanding. */
const MAX_EARLY_NOTICES = 1000;

export type E2eeState = 'ok' | 'waiting-for-key' | 'failing';

/**
 * A participant as the server reports it. No name: the server's names are
 * unauthenticated, so the UI names people from the verified roster only.
 */
export interface RemoteParticipant {
  id: string;
  /** False once the server says it left (kept while it still holds the meeting key). */
  present: boolean;
  tracks: Partial<Record<MediaSource, RemoteTrack>>;
  /** Streams we could not receive, by source: the tile says why (the rest of the meeting is unaffected). */
  failedStreams: Partial<Record<MediaSource, { code: string; message: string }>>;
  micMuted: boolean;
  cameraOff: boolean;
  e2ee: E2eeState;
  e2eeReason?: string;
  speaking: boolean;
}

export type MeetingPhase = 'idle' | 'connecting' | 'joined' | 'reconnecting' | 'left' | 'failed';

export interface Alert {
  id: number;
  level: 'info' | 'warn' | 'error';
  text: string;
}

type Listener = () => void;

export interface MeetingOptions {
  meetingId: string;
  name: string;
  mode: MeetingMode;
  hooks: FrameHooks;
  signalingUrl?: string;
}

export class Meeting {
  phase: MeetingPhase = 'idle';
  error?: string;
  /** The server's code when joining failed (e.g. CALL_FULL), for the UI. */
  errorCode?: string;
  join?: JoinResult;
  /** While phase is 'reconnecting': why, which attempt, when the next try is (the screen shows it). */
  reconnecting?: ReconnectStatus;
  readonly participants = new Map<string, RemoteParticipant>();
  readonly alerts: Alert[] = [];
  local = { micMuted: false, cameraOff: false, sharing: false };
  private signaling?: Signaling;
  media?: MediaSession;
  private readonly listeners = new Set<Listener>();
  private readonly noticeListeners = new Set<(n: ServerNotice) => void>();
  private readonly joinedListeners = new Set<(j: JoinResult) => void>();
  private alertSeq = 0;
  private localStream?: MediaStream;
  /** Producers announced before our receive transport exists are consumed once it does. */
  private readonly pendingProducers = new Map<string, ProducerInfo>();
  /**
   * Latest paused state of every remote producer, from the join response and
   * notices. A pause can arrive while the matching consumer is still being set
   * up (no track yet) or after the consume request captured an older state, so
   * mute and camera-off come from here, never from the track.
   */
  private readonly remoteProducers = new Map<string, { participantId: string; source: MediaSource; paused: boolean }>();
  private mediaReady = false;
  private screenStream?: MediaStream;
  /** Set by the server's restart notice, so the drop that follows is shown as a restart. */
  private disconnectCause: ReconnectCause = 'lost';
  /** Ends the current back-off wait early (Try now, the browser's online event). */
  private wakeReconnect?: () => void;
  /** When a new consumer may be resumed (the E2EE controller sets it). */
  receiveGate: ReceiveGate = () => Promise.resolve();
  /**
   * When media set-up may start after a join (the E2EE controller sets it).
   * Media set-up (device, transports, consumers, tiles) fills the page's
   * main thread for a few hundred milliseconds, and the key exchange that
   * every member's switch to the next epoch waits for would queue behind it;
   * nothing the media brings is usable before we are keyed anyway.
   */
  mediaGate: () => Promise<void> = () => Promise.resolve();
  /**
   * Whether a participant may still hold the meeting key (the E2EE controller
   * sets it). The server's word that it left does not end that: its record
   * and media stay, marked not present, until forgetDeparted() after a roster
   * without it.
   */
  holdsKey: (participantId: string) => boolean = () => false;

  constructor(readonly opts: MeetingOptions) {}

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  changed(): void {
    for (const l of this.listeners) l();
  }

  onNotice(l: (n: ServerNotice) => void): void {
    this.noticeListeners.add(l);
  }

  /** Runs right after the server accepts the join, before any media is set up. */
  onJoined(l: (j: JoinResult) => void): void {
    this.joinedListeners.add(l);
  }

  alert(level: Alert['level'], text: string): void {
    this.alerts.push({ id: ++this.alertSeq, level, text });
    if (this.alerts.length > 50) this.alerts.shift();
    this.changed();
  }

  get signalingClient(): Signaling | undefined {
    return this.signaling;
  }

  async start(localStream: MediaStream): Promise<void> {
    this.localStream = localStream;
    this.phase = 'connecting';
    this.changed();
    try {
      await this.connect();
    } catch (e) {
      // Already reconnecting (the connection dropped after the join): that goes on.
      if (this.phase !== 'connecting') return;
      this.phase = 'failed';
      this.error = e instanceof SignalingError ? e.error.message : e instanceof Error ? e.message : String(e);
      this.errorCode = e instanceof SignalingError ? e.error.code : 'UNREACHABLE';
      this.changed();
      throw e;
    }
  }

  private async connect(): Promise<void> {
    const signaling = new Signaling(this.opts.signalingUrl ?? Signaling.defaultUrl());
    this.signaling = signaling;
    await signaling.connect();
    // Notices that overtake our join response (an older server, or any race)
    // are applied after it: the response's peer list is the snapshot they change.
    let early: ServerNotice[] | null = [];
    signaling.onNotice((n) => {
      if (!early) this.handleNotice(n);
      else if (early.length < MAX_EARLY_NOTICES) early.push(n);
    });
    signaling.onClose = () => {
      if (this.signaling === signaling) this.onDisconnected();
    };
    const join = await signaling.join(this.opts.meetingId, this.opts.mode);
    this.join = join;
    for (const p of join.peers) this.addParticipant(p.participantId);
    for (const l of this.joinedListeners) l(join);
    const overtaken = early;
    early = null;
    for (const n of overtaken) this.handleNotice(n);
    for (const p of join.producers) {
      this.pendingProducers.set(p.producerId, p);
      this.setProducerState(p.producerId, p.participantId, p.source, p.paused);
    }
    await this.mediaGate();
    // Left, or another connection took over, while we waited: this one sets nothing up.
    if (this.signaling !== signaling || this.phase === 'left') throw new Error('the connection changed while the meeting key was agreed');
    const media = await this.startMedia(signaling, join.routerRtpCapabilities);
    this.phase = 'joined';
    this.disconnectCause = 'lost';
    this.changed();
    if (join.tapping) this.alert('warn', 'This server is recording what it can see (tap mode). Media and keys stay encrypted.');
    this.consumePending(media);
    // Joined from here on: a failure to publish (the connection dropping
    // meanwhile, say) is the reconnect's business, not a failed join.
    await this.publishLocal().catch((e: unknown) => {
      if (this.signaling === signaling && this.phase === 'joined')
        this.alert('error', `Could not send your camera or microphone: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  /** A new media session (device, transports) on this signaling connection. */
  private async startMedia(signaling: Signaling, routerRtpCapabilities: JsonObject): Promise<MediaSession> {
    const media = new MediaSession(signaling, this.opts.hooks, (info) => this.receiveGate(info));
    this.media = media;
    media.onTrack((t) => this.onRemoteTrack(t));
    media.onTrackEnded((t) => this.onRemoteTrackEnded(t));
    media.onConsumeFailed((f) => this.onConsumeFailed(f));
    media.onTransportState(({ direction, state }) => {
      if (state === 'failed') this.alert('warn', `Media connection (${direction}) failed; trying to restore it…`);
    });
    // ICE restarts did not bring the media path back: rejoin from scratch.
    media.onGaveUp(() => {
      if (this.media !== media || this.phase !== 'joined') return;
      this.disconnectCause = 'media-failed';
      signaling.close();
    });
    await media.start(routerRtpCapabilities);
    this.mediaReady = true;
    return media;
  }

  private consumePending(media: MediaSession): void {
    for (const p of this.pendingProducers.values()) void this.consume(media, p);
    this.pendingProducers.clear();
  }

  /**
   * The meeting's media process died and the server moved the meeting to a
   * fresh one: same meeting, same people, same keys; new transports, and
   * every stream published and received again. The frame worker and its
   * counters stay, so no (key, KID, CTR) repeats on the new senders.
   */
  private async restartMedia(routerRtpCapabilities: JsonObject): Promise<void> {
    const signaling = this.signaling;
    if (!signaling || this.phase !== 'joined') return;
    this.alert('warn', 'The media server restarted. Reconnecting audio and video…');
    this.media?.close();
    this.media = undefined;
    this.mediaReady = false;
    this.pendingProducers.clear();
    this.remoteProducers.clear();
    for (const p of this.participants.values()) {
      p.tracks = {};
      p.failedStreams = {};
    }
    this.changed();
    try {
      const media = await this.startMedia(signaling, routerRtpCapabilities);
      if (this.signaling !== signaling) return;
      this.consumePending(media);
      await this.publishLocal();
      const screen = this.screenStream?.getVideoTracks()[0];
      if (this.local.sharing && screen) await media.publish(screen, 'screen');
      this.alert('info', 'Audio and video are back.');
    } catch (e) {
      // Could not set media up again on this connection: rejoin from scratch.
      console.warn(`media restart failed: ${e instanceof Error ? e.message : String(e)}`);
      if (this.signaling === signaling) {
        this.disconnectCause = 'media-failed';
        signaling.close();
      }
    }
  }

  private async publishLocal(): Promise<void> {
    const stream = this.localStream;
    if (!stream || !this.media) return;
    const audio = stream.getAudioTracks()[0];
    const video = stream.getVideoTracks()[0];
    // A mute or camera-off set before publishing (or before a reconnect) holds
    // for the new producer too, so the others see the state the user chose.
    if (audio) {
      await this.media.publish(audio, 'mic');
      if (this.local.micMuted) await this.media.setPaused('mic', true);
    }
    if (video) {
      await this.media.publish(video, 'camera');
      if (this.local.cameraOff) await this.media.setPaused('camera', true);
    }
  }

  private addParticipant(id: string): RemoteParticipant {
    let p = this.participants.get(id);
    if (!p) {
      p = { id, present: true, tracks: {}, failedStreams: {}, micMuted: false, cameraOff: false, e2ee: 'waiting-for-key', speaking: false };
      this.participants.set(id, p);
    }
    p.present = true;
    return p;
  }

  private removeParticipant(id: string): void {
    this.participants.delete(id);
    for (const [producerId, r] of this.remoteProducers) if (r.participantId === id) this.remoteProducers.delete(producerId);
  }

  /** Drops participants the server said left once they no longer hold the key (call after a roster change). */
  forgetDeparted(): void {
    let changed = false;
    for (const p of [...this.participants.values()]) {
      if (p.present || this.holdsKey(p.id)) continue;
      this.removeParticipant(p.id);
      changed = true;
    }
    if (changed) this.changed();
  }

  private handleNotice(n: ServerNotice): void {
    switch (n.type) {
      case 'participant-joined':
        this.addParticipant(n.participantId);
        break;
      case 'participant-left': {
        const p = this.participants.get(n.participantId);
        if (p && this.holdsKey(p.id)) p.present = false;
        else this.removeParticipant(n.participantId);
        break;
      }
      case 'producer-added':
        this.setProducerState(n.producerId, n.participantId, n.source, n.paused);
        if (this.mediaReady && this.media) void this.consume(this.media, n);
        else this.pendingProducers.set(n.producerId, n);
        break;
      case 'producer-closed': {
        this.pendingProducers.delete(n.producerId);
        const r = this.remoteProducers.get(n.producerId);
        if (r) delete this.participants.get(r.participantId)?.failedStreams[r.source];
        this.remoteProducers.delete(n.producerId);
        this.media?.closeConsumerOfProducer(n.producerId);
        break;
      }
      case 'producer-paused': {
        const r = this.remoteProducers.get(n.producerId);
        if (r && r.participantId === n.participantId) this.setProducerState(n.producerId, r.participantId, r.source, n.paused);
        break;
      }
      case 'active-speaker':
        for (const p of this.participants.values()) p.speaking = p.id === n.participantId;
        break;
      case 'consumer-closed':
        this.media?.closeConsumer(n.consumerId);
        break;
      case 'error':
        this.alert('error', `Server: ${n.error.message}`);
        break;
      case 'server-restarting':
        this.disconnectCause = 'server-restarting';
        break;
      case 'media-restart':
        void this.restartMedia(n.routerRtpCapabilities);
        break;
      default:
        break;
    }
    for (const l of this.noticeListeners) l(n);
    this.changed();
  }

  /**
   * Receives one producer, awaited here so a failure cannot go unseen: it is
   * contained to that stream and shown on its tile (MediaSession.consume
   * reports its own failures; anything else thrown is reported the same way).
   */
  private async consume(media: MediaSession, p: ProducerInfo): Promise<void> {
    try {
      await media.consume(p);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.onConsumeFailed({ producerId: p.producerId, participantId: p.participantId, source: p.source, code: 'CONSUME_FAILED', message });
    }
  }

  private onConsumeFailed(f: ConsumeFailure): void {
    const p = this.participants.get(f.participantId);
    if (!p) return;
    p.failedStreams[f.source] = { code: f.code, message: f.message };
    this.changed();
  }

  private onRemoteTrack(t: RemoteTrack): void {
    const p = this.participants.get(t.participantId);
    if (!p) return;
    p.tracks[t.source] = t;
    delete p.failedStreams[t.source];
    const r = this.remoteProducers.get(t.producerId);
    this.applyPaused(p, t.source, r ? r.paused : t.paused);
    this.changed();
  }

  private setProducerState(producerId: string, participantId: string, source: MediaSource, paused: boolean): void {
    this.remoteProducers.set(producerId, { participantId, source, paused });
    const p = this.participants.get(participantId);
    if (p) this.applyPaused(p, source, paused);
  }

  private applyPaused(p: RemoteParticipant, source: MediaSource, paused: boolean): void {
    if (source === 'mic') p.micMuted = paused;
    if (source === 'camera') p.cameraOff = paused;
  }

  private onRemoteTrackEnded(t: RemoteTrack): void {
    const p = this.participants.get(t.participantId);
    if (p && p.tracks[t.source]?.consumerId === t.consumerId) delete p.tracks[t.source];
    this.changed();
  }

  private onDisconnected(): void {
    if (this.phase === 'left' || this.phase === 'reconnecting') return;
    const wasJoined = this.phase === 'joined';
    this.dropMedia();
    if (!wasJoined) {
      this.phase = 'failed';
      this.error = 'Lost the connection to the meeting server.';
      this.changed();
      return;
    }
    const cause = this.disconnectCause;
    this.disconnectCause = 'lost';
    void this.reconnect(cause);
  }

  private dropMedia(): void {
    this.media?.close();
    this.media = undefined;
    this.mediaReady = false;
    this.participants.clear();
    this.remoteProducers.clear();
    this.pendingProducers.clear();
  }

  /**
   * Rejoins after a lost connection: a fresh participant, fresh keys (the old
   * ones are gone with the old epoch). Waits follow exponential back-off with
   * full jitter (net/backoff.ts); tryReconnectNow() cuts a wait short.
   */
  private async reconnect(cause: ReconnectCause): Promise<void> {
    this.phase = 'reconnecting';
    for (let attempt = 0; attempt < RECONNECT_POLICY.maxAttempts; attempt++) {
      const wait = backoffDelay(attempt, RECONNECT_POLICY);
      this.reconnecting = { cause, attempt: attempt + 1, nextTryAt: Date.now() + wait };
      this.error = undefined;
      this.changed();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wakeReconnect = done;
      });
      this.wakeReconnect = undefined;
      if ((this.phase as MeetingPhase) === 'left') return;
      this.reconnecting = { cause, attempt: attempt + 1, nextTryAt: undefined };
      this.changed();
      try {
        await withTimeout(this.connect(), RECONNECT_ATTEMPT_TIMEOUT_MS, 'the server did not answer');
        this.reconnecting = undefined;
        this.alert('info', 'Reconnected to the meeting.');
        return;
      } catch (e) {
        const signaling = this.signaling;
        this.signaling = undefined; // its close must not count as another drop
        signaling?.close();
        this.dropMedia();
        if ((this.phase as MeetingPhase) === 'left') return;
        // The server answered and refused us (the call filled up meanwhile…): trying again will not help.
        if (e instanceof SignalingError && REFUSALS.has(e.error.code)) {
          this.reconnecting = undefined;
          this.phase = 'failed';
          this.error = e.error.message;
          this.errorCode = e.error.code;
          this.changed();
          return;
        }
        this.phase = 'reconnecting';
      }
    }
    this.reconnecting = undefined;
    this.phase = 'failed';
    this.error = 'Could not reconnect to the meeting server. Check your network and press Rejoin to try again.';
    this.changed();
  }

  /** Try now (the button): skip the rest of the back-off wait. */
  tryReconnectNow(): void {
    this.wakeReconnect?.();
  }

  /**
   * The browser's `online` event: the network is back or changed. Reconnecting:
   * try at once. Joined: restart ICE, since the media path may sit on an old address.
   */
  networkBack(): void {
    if (this.phase === 'reconnecting') this.tryReconnectNow();
    else if (this.phase === 'joined') void this.media?.restartIceNow();
  }

  async setMicMuted(muted: boolean): Promise<void> {
    this.local.micMuted = muted;
    this.localStream?.getAudioTracks().forEach((t) => (t.enabled = !muted));
    await this.media?.setPaused('mic', muted);
    this.changed();
  }

  async setCameraOff(off: boolean): Promise<void> {
    this.local.cameraOff = off;
    this.localStream?.getVideoTracks().forEach((t) => (t.enabled = !off));
    await this.media?.setPaused('camera', off);
    this.changed();
  }

  async startScreenShare(): Promise<void> {
    if (this.local.sharing || !this.media) return;
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = stream.getVideoTracks()[0];
    if (!track) return;
    this.screenStream = stream;
    track.addEventListener('ended', () => void this.stopScreenShare());
    await this.media.publish(track, 'screen');
    this.local.sharing = true;
    this.changed();
  }

  async stopScreenShare(): Promise<void> {
    if (!this.local.sharing) return;
    this.local.sharing = false;
    this.screenStream?.getTracks().forEach((t) => t.stop());
    this.screenStream = undefined;
    await this.media?.unpublish('screen');
    this.changed();
  }

  /** The camera or microphone track we send now (undefined if we have none). */
  localTrack(kind: 'audio' | 'video'): MediaStreamTrack | undefined {
    return kind === 'audio' ? this.localStream?.getAudioTracks()[0] : this.localStream?.getVideoTracks()[0];
  }

  /**
   * Switches camera or microphone during the call (deviceId undefined: the
   * browser's default). The new track replaces the old one on the same RTP
   * sender (producer.replaceTrack): its encrypting transform stays attached
   * and nothing is renegotiated. Mute and camera-off carry over.
   */
  async switchDevice(kind: 'audio' | 'video', deviceId: string | undefined): Promise<void> {
    const stream = this.localStream;
    if (!stream) throw new Error('no local media');
    const fresh = await navigator.mediaDevices.getUserMedia(constraintsFor(kind, deviceId));
    const track = kind === 'audio' ? fresh.getAudioTracks()[0] : fresh.getVideoTracks()[0];
    if (!track) throw new Error(`no ${kind === 'audio' ? 'microphone' : 'camera'} track`);
    track.enabled = !(kind === 'audio' ? this.local.micMuted : this.local.cameraOff);
    const source = kind === 'audio' ? 'mic' : 'camera';
    const media = this.media;
    if (media?.hasProducer(source)) await media.replaceTrack(source, track);
    else if (media && this.phase === 'joined') {
      // Joined without this device (it failed at start): publish it now.
      await media.publish(track, source);
      if (!track.enabled) await media.setPaused(source, true);
    }
    for (const old of kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks()) {
      stream.removeTrack(old);
      old.stop();
    }
    stream.addTrack(track);
    this.changed();
  }

  get screenTrack(): MediaStreamTrack | undefined {
    return this.screenStream?.getVideoTracks()[0];
  }

  /** Leaves; `reason` is shown on the end screen (e.g. removed by the leader). */
  async leave(reason?: string): Promise<void> {
    if (this.phase === 'left') return;
    this.phase = 'left';
    this.error = reason;
    this.reconnecting = undefined;
    this.wakeReconnect?.();
    await this.signaling?.request({ type: 'leave' });
    this.media?.close();
    this.signaling?.close();
    this.localStream?.getTracks().forEach((t) => t.stop());
    this.screenStream?.getTracks().forEach((t) => t.stop());
    this.participants.clear();
    this.remoteProducers.clear();
    this.changed();
  }
}

/** `p`, or a rejection after `ms` (p's own later failure is then ignored). */
function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
