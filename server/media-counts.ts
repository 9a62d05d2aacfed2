// Live mediasoup objects (routers, transports, producers, consumers) of one
// server, counted from mediasoup's observer events. Test mode only: the soak
// bench (bench/soak.ts) reads them over HTTP to see that a long meeting leaves
// nothing behind once everyone has gone. Counts are what Node holds; an object
// closed with its router or dead worker is counted out by the same events.

import type { types as ms } from 'mediasoup';

export interface MediaCounts {
  workers: number;
  routers: number;
  transports: number;
  producers: number;
  consumers: number;
}

/** The HTTP path the counts are served on (test mode only). */
export const MEDIA_COUNTS_PATH = '/test/media-counts';

export class MediaObjectCounter {
  private readonly live: MediaCounts = { workers: 0, routers: 0, transports: 0, producers: 0, consumers: 0 };

  counts(): MediaCounts {
    return { ...this.live };
  }

  /** Counts a worker and everything made on it from now on. */
  watchWorker(worker: ms.Worker): void {
    this.track('workers', worker.observer);
    worker.observer.on('newrouter', (router) => {
      this.track('routers', router.observer);
      router.observer.on('newtransport', (transport) => {
        this.track('transports', transport.observer);
        transport.observer.on('newproducer', (p) => this.track('producers', p.observer));
        transport.observer.on('newconsumer', (c) => this.track('consumers', c.observer));
      });
    });
  }

  private track(kind: keyof MediaCounts, observer: { once(event: 'close', listener: () => void): unknown }): void {
    this.live[kind]++;
    observer.once('close', () => this.live[kind]--);
  }
}
