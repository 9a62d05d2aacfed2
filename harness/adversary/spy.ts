// The payoff of an attack that obtains an epoch key: the server derives the
// SFrame keys from it and decrypts the audio it forwards. Each Opus packet is
// one SFrame frame, so no depacketizing is needed. Used as evidence only (a
// counter of frames the server could read); nothing decrypted is kept.
//
// It holds the keys as a receiving page's frame worker does (WorkerKeys): the
// microphone's frames carry a compact KID under a per-sender audio key
// (protocol.md §7.3a), opened as the stream of the participant who published it.

import type { types as ms } from 'mediasoup';
import { deriveFrameKeys } from '../../shared/e2ee/sender-keys.ts';
import { WorkerKeys } from '../../client/src/e2ee/worker/keys.ts';
import type { Room } from '../../server/room.ts';
import type { AttackStats } from './common.ts';

/** RTP payload (header, CSRCs, extension and padding removed), or undefined. */
export function rtpPayload(packet: Buffer): Buffer | undefined {
  if (packet.length < 12 || packet[0]! >> 6 !== 2) return undefined;
  let off = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) {
    if (packet.length < off + 4) return undefined;
    off += 4 + 4 * packet.readUInt16BE(off + 2);
  }
  let end = packet.length;
  if (packet[0]! & 0x20) end -= packet[end - 1]!;
  return off <= end ? packet.subarray(off, end) : undefined;
}

export class MediaSpy {
  private readonly keys = new WorkerKeys();
  private direct?: Promise<ms.DirectTransport>;
  private readonly spied = new Set<string>();
  private closed = false;

  constructor(
    private readonly room: Room,
    private readonly stats: AttackStats,
  ) {}

  /** Installs every member's frame key of an epoch whose key the server obtained. */
  async addEpochKey(epoch: number, epochKey: Uint8Array, memberIds: readonly string[]): Promise<void> {
    const labels = { meetingId: this.room.meetingId, instanceId: this.room.instanceId, epoch };
    for (const k of await deriveFrameKeys(epochKey, labels, memberIds)) {
      await this.keys.addReceiveKey(k.kid, k.participantId, k.baseKey);
    }
    await this.watchAudio();
  }

  /** Taps every audio producer in the room not tapped yet. */
  async watchAudio(): Promise<void> {
    for (const p of this.room.participants.values()) {
      for (const { producer } of p.producers.values()) {
        if (producer.kind !== 'audio' || producer.closed || this.spied.has(producer.id)) continue;
        this.spied.add(producer.id);
        await this.tap(producer, p.id).catch((e: unknown) => this.stats.note(`could not tap ${producer.id}: ${String(e)}`));
      }
    }
  }

  private async tap(producer: ms.Producer, owner: string): Promise<void> {
    if (this.closed || this.room.isClosed) return;
    this.direct ??= this.room.router.createDirectTransport();
    const direct = await this.direct;
    const consumer = await direct.consume({ producerId: producer.id, rtpCapabilities: this.room.router.rtpCapabilities });
    consumer.on('rtp', (packet: Buffer) => {
      const payload = rtpPayload(packet);
      if (!payload) return;
      void this.keys.decrypt('opus', new Uint8Array(payload), { participantId: owner, source: 'mic' }).then((r) => {
        if (!r.ok) return;
        this.stats.bump('frames-decrypted-by-server');
        this.stats.bump(`frames-decrypted-by-server:${owner}`);
        if (this.stats.count('frames-decrypted-by-server') === 1) this.stats.note(`decrypted a media frame of ${owner} with a stolen key`);
      });
    });
    consumer.on('producerclose', () => consumer.close());
  }

  close(): void {
    this.closed = true;
  }
}
