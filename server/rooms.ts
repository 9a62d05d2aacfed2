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
    pool.onWorkerDied = (dead, fresh) => void this.moveRoomsOff(dead, fresh);
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
    const router = await newRouter(this.pool.pick());
    const room = new Room(meetingId, mode, router, this.opts);
    this.rooms.set(meetingId, room);
    this.opts.log.info(`meeting ${meetingId}: room created (instance ${room.instanceId}, worker ${String(router.appData['workerPid'])})`);
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

  /**
   * The meetings of a dead worker move to its replacement: a new router, and
   * every participant told to set up media again (Room.moveTo). Only when no
   * worker is left are they closed, with a reason the clients show.
   */
  private async moveRoomsOff(dead: ms.Worker, fresh: ms.Worker | undefined): Promise<void> {
    const onDead = (room: Room): boolean => room.router.closed || (room.router.appData as { workerPid?: number }).workerPid === dead.pid;
    for (const room of this.all().filter(onDead)) {
      try {
        if (!fresh || fresh.closed) throw new Error('no mediasoup worker is running');
        await room.moveTo(await newRouter(fresh));
        this.opts.log.warn(`meeting ${room.meetingId}: moved to worker ${fresh.pid} after worker ${dead.pid} died`);
      } catch (e) {
        this.opts.log.error(`meeting ${room.meetingId}: cannot move off dead worker ${dead.pid}: ${String(e)}`);
        for (const p of room.participants.values()) p.peer.disconnect('MEDIA_ERROR', 'the media server failed; please rejoin');
        this.closeRoom(room);
      }
    }
  }

  closeAll(): void {
    for (const room of this.all()) this.closeRoom(room);
  }
}

function newRouter(worker: ms.Worker): Promise<ms.Router> {
  return worker.createRouter({ mediaCodecs: MEDIA_CODECS, appData: { workerPid: worker.pid } });
}
