// Wires the pieces into one process: HTTP(S) for the client, a WebSocket
// endpoint for signaling, and the mediasoup worker pool.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { LIMITS } from '../shared/protocol/signaling.ts';
import type { ServerConfig } from './config.ts';
import { staticHandler } from './http.ts';
import { createLogger, type Logger } from './log.ts';
import type { RoomObserver } from './room.ts';
import { RoomRegistry } from './rooms.ts';
import { checkServable, type TestBuildError } from './test-build.ts';
import { Connection, type OutgoingInterceptor, type RelayInterceptor, type SignalObserver } from './connection.ts';
import { WorkerPool } from './workers.ts';
import { MEDIA_COUNTS_PATH, MediaObjectCounter } from './media-counts.ts';

/** How long shutdown waits for clients to acknowledge the close after the restart notice. */
const SHUTDOWN_GRACE_MS = 500;

export interface RunningServer {
  url: string;
  port: number;
  registry: RoomRegistry;
  /** One per open signaling connection (the name stays: bench/server-load-child.ts reads it). */
  sessions: Set<Connection>;
  /** Process ids of the mediasoup workers (fault tests and benches kill one). */
  workerPids(): number[];
  log: Logger;
  close(): Promise<void>;
}

/** Where observers (the tap) and test harnesses (harness/adversary) plug in; the server itself runs none. */
export interface ServerHooks {
  roomObserver?: RoomObserver;
  signalObserver?: SignalObserver;
  relayInterceptor?: RelayInterceptor;
  outgoingInterceptor?: OutgoingInterceptor;
}

/** A server that cannot start, with the code of why (its message says what to do). */
export class StartupError extends Error {
  constructor(
    readonly code: TestBuildError['code'],
    message: string,
  ) {
    super(message);
    this.name = 'StartupError';
  }
}

export async function startServer(cfg: ServerConfig, hooks: ServerHooks = {}, log?: Logger): Promise<RunningServer> {
  log ??= createLogger(cfg.quiet ? 'warn' : 'info');
  const servable = checkServable(cfg.staticDir, cfg.testMode);
  if (!servable.ok) throw new StartupError(servable.error.code, servable.error.message);
  // Test mode only: live mediasoup objects over HTTP, for the soak bench's leak check.
  const counter = cfg.testMode ? new MediaObjectCounter() : undefined;
  const pool = await WorkerPool.create(cfg.mediasoup, log, (w) => counter?.watchWorker(w));
  const registry = new RoomRegistry(pool, {
    listenIp: cfg.mediasoup.listenIp,
    announcedAddress: cfg.mediasoup.announcedAddress,
    localListenIp: cfg.mediasoup.localListenIp,
    observer: hooks.roomObserver,
    log,
  });

  const serveStatic = staticHandler(cfg.staticDir);
  const handler: http.RequestListener = (req, res) => {
    if (counter && req.method === 'GET' && req.url === MEDIA_COUNTS_PATH) {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(counter.counts()));
      return;
    }
    serveStatic(req, res);
  };
  const server = cfg.https
    ? https.createServer({ cert: fs.readFileSync(cfg.https.certFile), key: fs.readFileSync(cfg.https.keyFile) }, handler)
    : http.createServer(handler);

  const wss = new WebSocketServer({ server, path: '/ws', maxPayload: LIMITS.maxFrameBytes });
  const sessions = new Set<Connection>();
  wss.on('connection', (ws) => {
    const c = new Connection(ws, {
      registry,
      log,
      tapping: cfg.tapDir !== undefined,
      signalObserver: hooks.signalObserver,
      relayInterceptor: hooks.relayInterceptor,
      outgoingInterceptor: hooks.outgoingInterceptor,
    });
    sessions.add(c);
    ws.on('close', () => sessions.delete(c));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = cfg.host === '127.0.0.1' || cfg.host === '0.0.0.0' ? 'localhost' : cfg.host;
  const url = `${cfg.https ? 'https' : 'http'}://${shownHost}:${port}`;
  log.info(
    `serving ${url} (${pool.size} mediasoup worker${pool.size === 1 ? '' : 's'}, media on ${cfg.mediasoup.announcedAddress ?? cfg.mediasoup.listenIp}${cfg.mediasoup.localListenIp ? ` and ${cfg.mediasoup.localListenIp}` : ''})`,
  );

  return {
    url,
    port,
    registry,
    sessions,
    workerPids: () => pool.pids,
    log,
    async close() {
      // Every client hears that the server is restarting before its socket closes.
      await Promise.all([...sessions].map((c) => c.shutDown(SHUTDOWN_GRACE_MS)));
      for (const c of wss.clients) c.terminate();
      wss.close();
      registry.closeAll();
      pool.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
