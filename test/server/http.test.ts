// The static client server (server/http.ts) on a small made-up build: what it
// serves, with which headers, and what it refuses. A malformed request gets a
// 4xx and the process goes on (issue #12: `GET /%ff` used to end the server).

import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_HEADERS, staticHandler } from '../../server/http.ts';
import { rawRequest } from './raw-http.ts';

let dir: string;
let server: http.Server;
let port: number;

beforeAll(async () => {
  // <tmp>/secret.txt sits beside the served root: traversal must not reach it.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'http-test-'));
  const root = path.join(dir, 'dist');
  fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'TOP SECRET');
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>app</title>');
  fs.writeFileSync(path.join(root, 'assets', 'app-1234.js'), 'console.log(1)');
  fs.writeFileSync(path.join(root, 'assets', 'style.css'), 'body{}');
  fs.writeFileSync(path.join(root, 'worker.wasm'), Buffer.from([0, 97, 115, 109]));
  server = http.createServer(staticHandler(root));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

const get = (target: string, method = 'GET') => rawRequest(port, `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);

describe('static client server', () => {
  it('serves index.html for / with the security headers and no caching', async () => {
    const r = await get('/');
    expect(r.status).toBe(200);
    expect(r.body).toContain('<title>app</title>');
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-cache');
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(r.headers[k.toLowerCase()]).toBe(v);
  });

  it('serves assets with their content types, hashed assets as immutable', async () => {
    const js = await get('/assets/app-1234.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await get('/assets/style.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get('/worker.wasm')).headers['content-type']).toBe('application/wasm');
  });

  it('answers HEAD without a body and other methods with 405', async () => {
    const head = await get('/', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await get('/', 'POST')).status).toBe(405);
    expect((await get('/', 'DELETE')).status).toBe(405);
  });

  it('gives unknown paths without an extension the app, and unknown files a 404', async () => {
    expect((await get('/some/client/route')).body).toContain('<title>app</title>');
    expect((await get('/missing.js')).status).toBe(404);
  });

  it('lists no directory', async () => {
    for (const target of ['/assets', '/assets/']) {
      const r = await get(target);
      expect(r.body).not.toContain('app-1234.js');
    }
  });

  it('never serves a file outside its root', async () => {
    for (const target of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/..%5csecret.txt', '//../secret.txt']) {
      const r = await get(target);
      expect(r.body, target).not.toContain('TOP SECRET');
      expect(r.status, target).not.toBe(500);
    }
    expect((await get('/..%2fsecret.txt')).status).toBe(403);
  });

  it('answers a bad percent-encoding with 400 and keeps serving', async () => {
    for (const target of ['/%ff', '/%', '/%e0%80', '/a%zz', '/%00']) {
      const r = await get(target);
      expect(r.status, target).toBeGreaterThanOrEqual(400);
      expect(r.status, target).toBeLessThan(500);
    }
    expect((await get('/%ff')).status).toBe(400);
    expect((await get('/')).status).toBe(200);
  });

  it('answers /healthz', async () => {
    const r = await get('/healthz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true });
  });
});
