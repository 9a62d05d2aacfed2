// The mediasoup side of a meeting: one Device, a send and a receive transport,
// our producers and everyone else's consumers. Frame encryption plugs in
// through FrameHooks, which run synchronously when an RTCRtpSender/Receiver is
// created, so no frame can flow before its transform is attached.

import { Device, type types as msc } from 'mediasoup-client';
import type { JsonObject, MediaSource, ProducerInfo } from '../../../shared/protocol/signaling.ts';
import type { Signaling } from '../signaling.ts';

export interface SenderInfo {
  kind: 'audio' | 'video';
  source: MediaSource;
  /** Lower-case codec name, e.g. 'vp8', 'opus'. */
  codec: string;
}
export interface ReceiverInfo extends SenderInfo {
  participantId: string;
  producerId: string;
}

/** Longer than a key rotation takes (bounded by the leader's 1.5 s commit timeout). */
const DEFERRED_CLOSE_MS = 2000;

/**
 * A transport 'disconnected' this long (ICE consent lost, a network change)
 * gets an ICE restart; 'failed' gets one at once. A restart that has not
 * brought it back to 'connected' after ICE_RESTART_WAIT_MS is tried again, and
 * after MAX_ICE_RESTARTS the session gives up and the meeting rejoins.
 */
const ICE_DISCONNECTED_GRACE_MS = 2000;
const ICE_RESTART_WAIT_MS = 8000;
const MAX_ICE_RESTARTS = 2;

export interface FrameHooks {
  /** RTCPeerConnection settings the transform path needs (e.g. encodedInsertableStreams). */
  peerConnectionSettings(): Partial<RTCConfiguration>;
  onSender(sender: RTCRtpSender, info: SenderInfo): void;
  onReceiver(receiver: RTCRtpReceiver, info: ReceiverInfo): void;
}

/**
 * Resolves when a new consumer may be resumed. Resuming makes the SFU ask the
 * sender for a keyframe; a receiver without the sender's key would drop it and
 * wait about a second for the SFU's next request, so E2EE holds video until keyed.
 */
export type ReceiveGate = (info: ReceiverInfo) => Promise<void>;

export interface RemoteTrack {
  consumerId: string;
  producerId: string;
  participantId: string;
  kind: 'audio' | 'video';
  source: MediaSource;
  track: MediaStreamTrack;
  paused: boolean;
}

type Listener<T> = (v: T) => void;

/** A consume that failed: its stream is not received, and its tile says why. Other streams are not affected. */
export interface ConsumeFailure {
  producerId: string;
  participantId: string;
  source: MediaSource;
  /**
   * CONSUME_REFUSED: the server's answer does not fit what it announced or
   * itself (a microphone said to be video, a codec of the other kind), so it
   * is never handed to the receive PeerConnection, where one bad media section
   * breaks every later consume. CONSUME_FAILED: the server or the browser
   * refused it.
   */
  code: 'CONSUME_REFUSED' | 'CONSUME_FAILED';
  message: string;
}

/** The kind each media source must have. */
export const KIND_OF_SOURCE: Readonly<Record<MediaSource, 'audio' | 'video'>> = { mic: 'audio', camera: 'video', screen: 'video' };

/** Why a consume answer cannot be received as the stream it claims to be, or undefined if it can. */
export function consumeMismatch(
  announced: ProducerInfo,
  c: { producerId: string; participantId: string; kind: string; source: string; rtpParameters: unknown },
): string | undefined {
  if (c.producerId !== announced.producerId) return `answer is for producer ${c.producerId}, not ${announced.producerId}`;
  if (c.participantId !== announced.participantId || c.source !== announced.source)
    return `announced as ${announced.participantId}'s ${announced.source}, answered as ${c.participantId}'s ${c.source}`;
  const want = KIND_OF_SOURCE[announced.source];
  if (c.kind !== want) return `a ${announced.source} must be ${want}, the server says ${c.kind}`;
  const codecs = (c.rtpParameters as { codecs?: Array<{ mimeType?: unknown }> } | undefined)?.codecs;
  if (!Array.isArray(codecs) || codecs.length === 0) return 'answer has no codecs';
  for (const codec of codecs) {
    const mime = typeof codec?.mimeType === 'string' ? codec.mimeType.toLowerCase() : '';
    if (!mime.startsWith(`${want}/`))
      return `${want === 'audio' ? 'an audio' : 'a video'} stream cannot carry ${mime || 'an unnamed codec'}`;
  }
  return undefined;
}

export class MediaSession {
  private device?: Device;
  private sendTransport?: msc.Transport;
  private recvTransport?: msc.Transport;
  private readonly producers = new Map<MediaSource, msc.Producer>();
  private readonly consumers = new Map<string, { consumer: msc.Consumer; info: RemoteTrack }>();
  private readonly byProducer = new Map<string, string>();
  private readonly consuming = new Set<string>();
  private readonly trackListeners = new Set<Listener<RemoteTrack>>();
  private readonly trackEndedListeners = new Set<Listener<RemoteTrack>>();
  private readonly stateListeners = new Set<Listener<{ direction: 'send' | 'recv'; state: string }>>();
  private readonly consumeFailedListeners = new Set<Listener<ConsumeFailure>>();
  private readonly gaveUpListeners = new Set<() => void>();
  private readonly iceWatch = { send: { restarts: 0, timer: 0 }, recv: { restarts: 0, timer: 0 } };
  private closed = false;

  constructor(
    private readonly signaling: Signaling,
    private readonly hooks: FrameHooks,
    private readonly receiveGate: ReceiveGate = () => Promise.resolve(),
  ) {}

  onTrack(l: Listener<RemoteTrack>): void {
    this.trackListeners.add(l);
  }
  onTrackEnded(l: Listener<RemoteTrack>): void {
    this.trackEndedListeners.add(l);
  }
  onTransportState(l: Listener<{ direction: 'send' | 'recv'; state: string }>): void {
    this.stateListeners.add(l);
  }
  onConsumeFailed(l: Listener<ConsumeFailure>): void {
    this.consumeFailedListeners.add(l);
  }
  /** ICE restarts did not restore a transport: the caller rejoins from scratch. */
  onGaveUp(l: () => void): void {
    this.gaveUpListeners.add(l);
  }

  async start(routerRtpCapabilities: JsonObject): Promise<void> {
    const device = await Device.factory();
    await device.load({ routerRtpCapabilities: routerRtpCapabilities as unknown as msc.RtpCapabilities });
    this.device = device;
    this.sendTransport = await this.createTransport('send');
    this.recvTransport = await this.createTransport('recv');
  }

  private async createTransport(direction: 'send' | 'recv'): Promise<msc.Transport> {
    const device = this.device!;
    const t = await this.signaling.call({ type: 'create-transport', direction });
    const options = {
      id: t.transportId,
      iceParameters: t.iceParameters as unknown as msc.IceParameters,
      iceCandidates: t.iceCandidates as unknown as msc.IceCandidate[],
      dtlsParameters: t.dtlsParameters as unknown as msc.DtlsParameters,
      additionalSettings: this.hooks.peerConnectionSettings(),
    };
    const transport = direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, ok, fail) => {
      this.signaling
        .call({ type: 'connect-transport', transportId: transport.id, dtlsParameters: dtlsParameters as never })
        .then(() => ok(), fail);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
        this.signaling
          .call({
            type: 'produce',
            transportId: transport.id,
            kind,
            source: appData['source'] as MediaSource,
            rtpParameters: rtpParameters as never,
          })
          .then(({ producerId }) => ok({ id: producerId }), fail);
      });
    }
    transport.on('connectionstatechange', (state) => {
      for (const l of this.stateListeners) l({ direction, state });
      this.watchIce(direction, transport, state);
    });
    return transport;
  }

  /** ICE restart first (server and browser get new ICE credentials); a full rejoin only if that fails. */
  private watchIce(direction: 'send' | 'recv', transport: msc.Transport, state: string): void {
    const w = this.iceWatch[direction];
    clearTimeout(w.timer);
    if (this.closed || state === 'closed') return;
    if (state === 'connected') w.restarts = 0;
    else if (state === 'failed') void this.restartIce(direction, transport);
    else if (state === 'disconnected')
      w.timer = self.setTimeout(() => void this.restartIce(direction, transport), ICE_DISCONNECTED_GRACE_MS);
  }

  private async restartIce(direction: 'send' | 'recv', transport: msc.Transport): Promise<void> {
    const w = this.iceWatch[direction];
    if (this.closed || transport.closed) return;
    if (w.restarts >= MAX_ICE_RESTARTS) {
      console.warn(`${direction} transport did not recover after ${w.restarts} ICE restarts; rejoining`);
      for (const l of this.gaveUpListeners) l();
      return;
    }
    w.restarts++;
    console.warn(`${direction} transport is ${transport.connectionState}: ICE restart ${w.restarts} of ${MAX_ICE_RESTARTS}`);
    const r = await this.signaling.request({ type: 'restart-ice', transportId: transport.id });
    if (r.ok && !transport.closed) {
      await transport.restartIce({ iceParameters: r.data.iceParameters as unknown as msc.IceParameters }).catch((e: unknown) => {
        console.warn(`ICE restart failed in the browser: ${e instanceof Error ? e.message : String(e)}`);
      });
    }
    clearTimeout(w.timer);
    w.timer = self.setTimeout(() => {
      if (transport.connectionState !== 'connected') void this.restartIce(direction, transport);
    }, ICE_RESTART_WAIT_MS);
  }

  /** Restarts ICE on both transports now (the network changed: the browser went back online). */
  restartIceNow(): Promise<void[]> {
    return Promise.all(
      (['send', 'recv'] as const).flatMap((d) => {
        const t = d === 'send' ? this.sendTransport : this.recvTransport;
        return t ? [this.restartIce(d, t)] : [];
      }),
    );
  }

  /** Picks the codec we encrypt for: VP8 video (mediasoup can see keyframes), Opus audio. */
  private codecFor(kind: 'audio' | 'video'): msc.RtpCodecCapability | undefined {
    const want = kind === 'audio' ? 'audio/opus' : 'video/vp8';
    return this.device!.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === want);
  }

  async publish(track: MediaStreamTrack, source: MediaSource): Promise<void> {
    const kind = track.kind as 'audio' | 'video';
    const codec = this.codecFor(kind);
    const codecName = codec?.mimeType.split('/')[1]?.toLowerCase() ?? 'unknown';
    const producer = await this.sendTransport!.produce({
      track,
      codec,
      appData: { source },
      stopTracks: false,
      // Screen content is better as text-sharp frames than smooth motion.
      encodings: source === 'screen' ? [{ maxBitrate: 1_500_000 }] : undefined,
      onRtpSender: (sender) => this.hooks.onSender(sender, { kind, source, codec: codecName }),
    });
    this.producers.set(source, producer);
  }

  hasProducer(source: MediaSource): boolean {
    return this.producers.has(source);
  }

  async unpublish(source: MediaSource): Promise<void> {
    const p = this.producers.get(source);
    if (!p) return;
    this.producers.delete(source);
    p.close();
    await this.signaling.request({ type: 'close-producer', producerId: p.id });
  }

  async setPaused(source: MediaSource, paused: boolean): Promise<void> {
    const p = this.producers.get(source);
    if (!p) return;
    if (paused) p.pause();
    else p.resume();
    await this.signaling.request({ type: 'set-producer-paused', producerId: p.id, paused });
  }

  async replaceTrack(source: MediaSource, track: MediaStreamTrack): Promise<void> {
    await this.producers.get(source)?.replaceTrack({ track });
  }

  /**
   * Receives one producer. Never rejects: a consume that fails is contained to
   * its own stream (reported through onConsumeFailed, for its tile), and the
   * receive connection stays usable for everyone else's.
   */
  async consume(p: ProducerInfo): Promise<void> {
    if (this.byProducer.has(p.producerId) || this.consuming.has(p.producerId) || !this.recvTransport) return;
    this.consuming.add(p.producerId);
    try {
      await this.consumeOnce(p);
    } catch (e) {
      const refused = e instanceof ConsumeRefused;
      this.consumeFailed(p, refused ? 'CONSUME_REFUSED' : 'CONSUME_FAILED', e instanceof Error ? e.message : String(e));
    } finally {
      this.consuming.delete(p.producerId);
    }
  }

  private consumeFailed(p: ProducerInfo, code: ConsumeFailure['code'], message: string): void {
    console.warn(`cannot receive ${p.source} of ${p.participantId}: ${code}: ${message}`);
    const failure: ConsumeFailure = { producerId: p.producerId, participantId: p.participantId, source: p.source, code, message };
    for (const l of this.consumeFailedListeners) l(failure);
  }

  private async consumeOnce(p: ProducerInfo): Promise<void> {
    if (!this.recvTransport) return;
    const r = await this.signaling.request({
      type: 'consume',
      transportId: this.recvTransport.id,
      producerId: p.producerId,
      rtpCapabilities: this.device!.rtpCapabilities as never,
    });
    if (!r.ok) {
      this.consumeFailed(p, 'CONSUME_FAILED', `${r.error.code}: ${r.error.message}`);
      return;
    }
    const c = r.data;
    // Checked before mediasoup-client sees it: a media section of the wrong kind
    // fails in setRemoteDescription and stays in the receive SDP, so every later
    // consume (anyone's) would fail too.
    const mismatch = consumeMismatch(p, c);
    if (mismatch) throw new ConsumeRefused(mismatch);
    const codecName = (c.rtpParameters as unknown as msc.RtpParameters).codecs[0]?.mimeType.split('/')[1]?.toLowerCase() ?? 'unknown';
    const consumer = await this.recvTransport.consume({
      id: c.consumerId,
      producerId: c.producerId,
      kind: c.kind,
      rtpParameters: c.rtpParameters as unknown as msc.RtpParameters,
      onRtpReceiver: (receiver) =>
        this.hooks.onReceiver(receiver, {
          kind: c.kind,
          source: c.source,
          codec: codecName,
          participantId: c.participantId,
          producerId: c.producerId,
        }),
    });
    const info: RemoteTrack = {
      consumerId: consumer.id,
      producerId: c.producerId,
      participantId: c.participantId,
      kind: c.kind,
      source: c.source,
      track: consumer.track,
      paused: p.paused,
    };
    this.consumers.set(consumer.id, { consumer, info });
    this.byProducer.set(c.producerId, consumer.id);
    for (const l of this.trackListeners) l(info);
    // The receiver (and its decrypting transform) is attached; media flows once
    // the gate says so (and the SFU's keyframe request then yields a usable frame).
    await this.receiveGate({ kind: c.kind, source: c.source, codec: codecName, participantId: c.participantId, producerId: c.producerId });
    if (!this.consumers.has(consumer.id)) return; // closed while we waited
    await this.signaling.request({ type: 'resume-consumer', consumerId: consumer.id });
  }

  closeConsumer(consumerId: string): void {
    const entry = this.consumers.get(consumerId);
    if (!entry) return;
    this.consumers.delete(consumerId);
    this.byProducer.delete(entry.info.producerId);
    // The SFU already closed it. Closing our side renegotiates the receive
    // PeerConnection (an SDP rewrite on the main thread), which would compete
    // with the key rotation the same departure starts: measured 260 → 72 ms for
    // the leader's keys to reach a member. So the track ends now (the tile goes),
    // and the transceiver is released once the rotation is done.
    setTimeout(() => entry.consumer.close(), DEFERRED_CLOSE_MS);
    for (const l of this.trackEndedListeners) l(entry.info);
  }

  closeConsumerOfProducer(producerId: string): void {
    const id = this.byProducer.get(producerId);
    if (id) this.closeConsumer(id);
  }

  /** The receiver of a consumer we hold (audio levels, stats); undefined once it is closed. */
  receiverOf(consumerId: string): RTCRtpReceiver | undefined {
    return this.consumers.get(consumerId)?.consumer.rtpReceiver as RTCRtpReceiver | undefined;
  }

  remoteTracks(): RemoteTrack[] {
    return [...this.consumers.values()].map((e) => e.info);
  }

  /** Asks every sender of video we receive for a keyframe (after a key change). */
  async requestKeyFrames(participantId?: string): Promise<void> {
    await Promise.all(
      [...this.consumers.values()]
        .filter((e) => e.info.kind === 'video' && (!participantId || e.info.participantId === participantId))
        .map((e) => this.signaling.request({ type: 'request-keyframe', consumerId: e.consumer.id })),
    );
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.iceWatch.send.timer);
    clearTimeout(this.iceWatch.recv.timer);
    for (const p of this.producers.values()) p.close();
    this.sendTransport?.close();
    this.recvTransport?.close();
  }
}

/** A consume answer this client will not receive (see consumeMismatch). */
class ConsumeRefused extends Error {}
