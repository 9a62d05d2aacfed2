// Wires the pieces into one process: HTTP(S) for the client, a WebSocket
// endpoint for signaling, and the mediasoup worker pool.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { LIMITS } from '../shared/protocol/signaling.ts';
import type { ServerConfig } from './config.ts';
import { installAttack, withAttack, type InstalledAttack } from './attack/index.ts';
import { staticHandler } from './http.ts';
import { createLogger, type Logger } from './log.ts';
import type { RoomObserver } from './room.ts';
import { RoomRegistry } from './rooms.ts';
import { Session, type RelayInterceptor, type SignalObserver } from './session.ts';
import { WorkerPool } from './workers.ts';

export interface RunningServer {
  url: string;
  port: number;
  registry: RoomRegistry;
  sessions: Set<Session>;
  log: Logger;
  /** Test only (--test-mode --attack NAME): the attack this server runs, with its evidence counters. */
  attack?: InstalledAttack;
  close(): Promise<void>;
}

export interface ServerHooks {
  roomObserver?: RoomObserver;
  signalObserver?: SignalObserver;
  relayInterceptor?: RelayInterceptor;
}

export async function startServer(cfg: ServerConfig, hooks: ServerHooks = {}, log?: Logger): Promise<RunningServer> {
  log ??= createLogger(cfg.quiet ? 'warn' : 'info');
  let attack: InstalledAttack | undefined;
  if (cfg.attack !== undefined) {
    if (!cfg.testMode) throw new Error('--attack is a test-only option and is refused without --test-mode');
    attack = await installAttack(cfg.attack, { log });
    hooks = withAttack(hooks, attack);
    log.warn(`ATTACK MODE ${cfg.attack}: this server is deliberately malicious (test only)`);
  }
  const pool = await WorkerPool.create(cfg.mediasoup, log);
  const registry = new RoomRegistry(pool, {
    listenIp: cfg.mediasoup.listenIp,
    announcedAddress: cfg.mediasoup.announcedAddress,
    observer: hooks.roomObserver,
    log,
  });

  const handler = staticHandler(cfg.staticDir);
  const server = cfg.https
    ? https.createServer({ cert: fs.readFileSync(cfg.https.certFile), key: fs.readFileSync(cfg.https.keyFile) }, handler)
    : http.createServer(handler);

  const wss = new WebSocketServer({ server, path: '/ws', maxPayload: LIMITS.maxFrameBytes });
  const sessions = new Set<Session>();
  wss.on('connection', (ws) => {
    const s = new Session(ws, {
      registry,
      log,
      tapping: cfg.tapDir !== undefined,
      signalObserver: hooks.signalObserver,
      relayInterceptor: hooks.relayInterceptor,
    });
    sessions.add(s);
    ws.on('close', () => sessions.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = cfg.host === '127.0.0.1' || cfg.host === '0.0.0.0' ? 'localhost' : cfg.host;
  const url = `${cfg.https ? 'https' : 'http'}://${shownHost}:${port}`;
  log.info(`serving ${url} (${pool.size} mediasoup worker${pool.size === 1 ? '' : 's'}, media on ${cfg.mediasoup.announcedAddress ?? cfg.mediasoup.listenIp})`);

  return {
    url,
    port,
    registry,
    sessions,
    log,
    attack,
    async close() {
      attack?.close();
      for (const c of wss.clients) c.terminate();
      wss.close();
      registry.closeAll();
      pool.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
