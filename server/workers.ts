// A pool of mediasoup workers; each new meeting's router goes to the next
// worker in turn. A worker that dies is replaced, and the replacement is handed
// to whoever moves the dead worker's meetings onto it (rooms.ts).

import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import type { ServerConfig } from './config.ts';
import type { Logger } from './log.ts';

export class WorkerPool {
  private workers: ms.Worker[] = [];
  private next = 0;
  private closed = false;
  /**
   * Called once a dead worker's replacement is up (fresh = undefined when it
   * could not be started), so the meetings on the dead one can move.
   */
  onWorkerDied: (dead: ms.Worker, fresh: ms.Worker | undefined) => void = () => {};

  private constructor(
    private readonly cfg: ServerConfig['mediasoup'],
    private readonly log: Logger,
    private readonly onWorker: (w: ms.Worker) => void,
  ) {}

  /** `onWorker` sees each worker as it starts, replacements included (test mode counts media objects). */
  static async create(cfg: ServerConfig['mediasoup'], log: Logger, onWorker: (w: ms.Worker) => void = () => {}): Promise<WorkerPool> {
    const pool = new WorkerPool(cfg, log, onWorker);
    const span = Math.floor((cfg.maxPort - cfg.minPort + 1) / cfg.numWorkers);
    for (let i = 0; i < cfg.numWorkers; i++) pool.workers.push(await pool.spawn(i, span));
    return pool;
  }

  private async spawn(index: number, span: number): Promise<ms.Worker> {
    // Each worker gets its own slice of the port range so they never collide.
    const rtcMinPort = this.cfg.minPort + index * span;
    const worker = await mediasoup.createWorker({
      logLevel: this.cfg.logLevel,
      rtcMinPort,
      rtcMaxPort: rtcMinPort + span - 1,
      appData: { index },
    });
    this.onWorker(worker);
    worker.on('died', (err) => {
      if (this.closed) return;
      this.log.error(`mediasoup worker ${worker.pid} died: ${err.message}; replacing it`);
      void this.spawn(index, span).then(
        (w) => {
          this.workers[index] = w;
          this.log.warn(`mediasoup worker ${w.pid} replaces ${worker.pid}`);
          this.onWorkerDied(worker, w);
        },
        (e: unknown) => {
          this.log.error(`could not replace mediasoup worker: ${String(e)}`);
          this.onWorkerDied(
            worker,
            this.workers.find((w) => !w.closed),
          );
        },
      );
    });
    return worker;
  }

  /** The next live worker in turn (a dead one waiting for its replacement is skipped while another lives). */
  pick(): ms.Worker {
    for (let i = 0; i < this.workers.length; i++) {
      const w = this.workers[this.next % this.workers.length]!;
      this.next++;
      if (!w.closed) return w;
    }
    return this.workers[this.next++ % this.workers.length]!;
  }

  /** Process ids of the current workers (tests and benches kill one). */
  get pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  get size(): number {
    return this.workers.length;
  }

  close(): void {
    this.closed = true;
    for (const w of this.workers) w.close();
  }
}
