// inject-plaintext: the server pushes media of its own making into a meeting
// as if a real participant sent it. When the first joiner of a meeting starts
// its camera, the server creates a video producer on a DirectTransport,
// registers it as that participant's screen share and announces it to
// everyone else (`producer-added`; later joiners find it in their join
// result). It then sends 15 frames a second into it, alternating:
//
//   - a plaintext VP8 keyframe (forged-vp8.ts: decodable, reads "FORGED");
//   - a forged SFrame frame: the real VP8 clear bytes and an SFrame header with
//     the owner's current KID and a counter just ahead of the owner's own (both
//     read from the clear SFrame headers of the owner's audio, which shares the
//     counter), so it passes the replay window; then random bytes where the
//     ciphertext and tag belong.
//
// Receivers must drop every one of them (no key opens them) and count the
// drops; nothing forged may be decoded or shown. (Side effect: the owner can
// no longer start a real screen share in that meeting, its slot is taken.)

import { randomBytes, randomInt } from 'node:crypto';
import type { types as ms } from 'mediasoup';
import { makeKid } from '../../shared/e2ee/kid.ts';
import { decodeHeader, encodeHeader } from '../../shared/sframe/header.ts';
import type { Participant, Room } from '../../server/room.ts';
import { ids, peek, RoomState, typeOf, type AttackFactory } from './common.ts';
import { FORGED_VP8_KEYFRAME } from './forged-vp8.ts';
import { rtpPayload } from './spy.ts';

const FPS = 15;
const VP8_CLEAR_BYTES = 10;

interface InjectState {
  started: boolean;
  ownerId?: string;
  /** Latest roster seen: its epoch and the owner's index, for a plausible KID until one is observed. */
  epoch: number;
  ownerIndex: number;
  /** The owner's KID and highest counter, read from its audio's clear SFrame headers. */
  seenKid?: bigint;
  seenCtr: bigint;
  timer?: ReturnType<typeof setInterval>;
  producer?: ms.Producer;
}

/** One RTP packet with a one-byte VP8 payload descriptor (start of partition 0) and the marker bit set. */
function rtpPacket(pt: number, seq: number, timestamp: number, ssrc: number, frame: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header[0] = 0x80;
  header[1] = 0x80 | pt;
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(timestamp >>> 0, 4);
  header.writeUInt32BE(ssrc >>> 0, 8);
  header[12] = 0x10; // VP8 descriptor: S=1, PID=0
  return Buffer.concat([header, frame]);
}

function forgedSFrame(kid: bigint, ctr: bigint): Uint8Array {
  const header = encodeHeader(kid, ctr);
  const hdr = header.ok ? header.value : new Uint8Array([0]);
  return Buffer.concat([FORGED_VP8_KEYFRAME.subarray(0, VP8_CLEAR_BYTES), hdr, randomBytes(300 + 16)]);
}

export const injectPlaintextAttack: AttackFactory = (_ctx, stats) => {
  const rooms = new RoomState<InjectState>(() => ({ started: false, epoch: 1, ownerIndex: 0, seenCtr: 0n }));
  const timers = new Set<ReturnType<typeof setInterval>>();

  const start = async (room: Room, owner: Participant, s: InjectState): Promise<void> => {
    const vp8 = room.router.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
    if (!vp8?.preferredPayloadType) throw new Error('router has no VP8');
    const pt = vp8.preferredPayloadType;
    const ssrc = randomInt(1, 2 ** 31);
    const direct = await room.router.createDirectTransport();
    const producer = await direct.produce({
      kind: 'video',
      rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: pt, clockRate: 90000 }], encodings: [{ ssrc }] },
      appData: { participantId: owner.id, source: 'screen', forgedByServer: true },
    });
    s.producer = producer;
    // Watch the owner's real audio: one Opus frame per packet, the TOC byte then the SFrame header.
    for (const { producer: real } of owner.producers.values()) {
      if (real.kind !== 'audio') continue;
      const watch = await direct.consume({ producerId: real.id, rtpCapabilities: room.router.rtpCapabilities });
      watch.on('rtp', (packet: Buffer) => {
        const payload = rtpPayload(packet);
        const h = payload && payload.length > 2 ? decodeHeader(new Uint8Array(payload), 1) : undefined;
        if (!h?.ok) return;
        if (h.value.kid !== s.seenKid) s.seenCtr = 0n;
        s.seenKid = h.value.kid;
        if (h.value.ctr > s.seenCtr) s.seenCtr = h.value.ctr;
      });
    }
    // Attributed to the owner: consume() finds it among the owner's producers.
    owner.producers.set(producer.id, { producer, source: 'screen' });
    room.broadcast(
      { type: 'producer-added', participantId: owner.id, producerId: producer.id, kind: 'video', source: 'screen', paused: false },
      owner.id,
    );
    stats.roles[`forged-producer:${room.meetingId}`] = producer.id;
    stats.roles[`impersonated:${room.meetingId}`] = owner.id;
    stats.note(`announced forged producer ${producer.id} as ${owner.id}'s screen share`);

    let n = 0;
    let seq = randomInt(0, 0xffff);
    let timestamp = randomInt(0, 2 ** 31);
    let ahead = 100n;
    const timer = setInterval(() => {
      if (room.isClosed || producer.closed || !room.participants.has(owner.id)) {
        clearInterval(timer);
        timers.delete(timer);
        if (!producer.closed) direct.close();
        return;
      }
      const plaintext = n++ % 2 === 0;
      const frame = plaintext ? FORGED_VP8_KEYFRAME : forgedSFrame(s.seenKid ?? makeKid(s.epoch, s.ownerIndex), s.seenCtr + ahead++);
      timestamp += 90000 / FPS;
      producer.send(rtpPacket(pt, seq++, timestamp, ssrc, frame));
      stats.bump('frames-injected');
      stats.bump(plaintext ? 'plaintext-frames' : 'forged-sframe-frames');
    }, 1000 / FPS);
    timers.add(timer);
    s.timer = timer;
  };

  return {
    stats,
    roomObserver: {
      producerCreated(room, participant, producer, source) {
        const s = rooms.get(room);
        if (s.started || producer.kind !== 'video' || source !== 'camera' || ids(room)[0] !== participant.id) return;
        s.started = true;
        s.ownerId = participant.id;
        start(room, participant, s).catch((e: unknown) => stats.note(`could not start: ${e instanceof Error ? e.message : String(e)}`));
      },
      roomClosed(room) {
        const s = rooms.peek(room);
        if (s?.timer) {
          clearInterval(s.timer);
          timers.delete(s.timer);
        }
      },
    },
    relayInterceptor: {
      relay(room, _from, to, payload) {
        const s = rooms.get(room);
        const msg = peek(payload);
        if (
          typeOf(msg) === 'roster' &&
          msg &&
          typeof msg['epoch'] === 'number' &&
          Array.isArray(msg['members']) &&
          msg['epoch'] >= s.epoch
        ) {
          const index = (msg['members'] as unknown[]).findIndex(
            (m) => typeof m === 'object' && m !== null && (m as { id?: unknown }).id === s.ownerId,
          );
          if (index >= 0) {
            s.epoch = msg['epoch'];
            s.ownerIndex = index;
          }
        }
        return [{ to, payload }];
      },
    },
    close() {
      for (const t of timers) clearInterval(t);
      timers.clear();
    },
  };
};
