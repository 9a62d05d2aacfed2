// Meetings by ID: a room (and its router) is created on the first join and
// closed when the last participant leaves.

import type { MeetingMode } from '../shared/protocol/signaling.ts';
import type { Logger } from './log.ts';
import { MEDIA_CODECS, Room, RoomError, type RoomObserver } from './room.ts';
import type { WorkerPool } from './workers.ts';
import type { types as ms } from 'mediasoup';

export interface RoomRegistryOptions {
  listenIp: string;
  announcedAddress?: string;
  localListenIp?: string;
  observer?: RoomObserver;
  log: Logger;
}

export class RoomRegistry {
  private readonly rooms = new Map<string, Room>();
  // Two joins racing for a new meeting must share one router.
  private readonly creating = new Map<string, Promise<Room>>();

  constructor(
    private readonly pool: WorkerPool,
    private readonly opts: RoomRegistryOptions,
  ) {
    pool.onWorkerDied = (worker) => this.closeRoomsOn(worker);
  }

  get size(): number {
    return this.rooms.size;
  }

  get(meetingId: string): Room | undefined {
    return this.rooms.get(meetingId);
  }

  all(): Room[] {
    return [...this.rooms.values()];
  }

  async getOrCreate(meetingId: string, mode: MeetingMode): Promise<Room> {
    let room = this.rooms.get(meetingId);
    if (!room) {
      let pending = this.creating.get(meetingId);
      if (!pending) {
        pending = this.create(meetingId, mode).finally(() => this.creating.delete(meetingId));
        this.creating.set(meetingId, pending);
      }
      room = await pending;
    }
    if (room.mode !== mode) {
      throw new RoomError(
        'MODE_MISMATCH',
        room.mode === 'call' ? 'this is a one-on-one call link, not a meeting' : 'this is a meeting, not a one-on-one call',
      );
    }
    return room;
  }

  private async create(meetingId: string, mode: MeetingMode): Promise<Room> {
    const worker = this.pool.pick();
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS, appData: { workerPid: worker.pid } });
    const room = new Room(meetingId, mode, router, this.opts);
    this.rooms.set(meetingId, room);
    this.opts.log.info(`meeting ${meetingId}: room created (instance ${room.instanceId}, worker ${worker.pid})`);
    return room;
  }

  /** Removes a participant and closes the room when it is empty. */
  leave(room: Room, participantId: string): void {
    room.leave(participantId);
    if (room.participants.size === 0) this.closeRoom(room);
  }

  closeRoom(room: Room): void {
    if (this.rooms.get(room.meetingId) === room) this.rooms.delete(room.meetingId);
    room.close();
    this.opts.log.info(`meeting ${room.meetingId}: room closed`);
  }

  private closeRoomsOn(worker: ms.Worker): void {
    for (const room of this.all()) {
      if (room.router.closed || (room.router.appData as { workerPid?: number }).workerPid === worker.pid) {
        for (const p of room.participants.values()) p.peer.disconnect('MEDIA_ERROR', 'the media server restarted; please rejoin');
        this.closeRoom(room);
      }
    }
  }

  closeAll(): void {
    for (const room of this.all()) this.closeRoom(room);
  }
}
