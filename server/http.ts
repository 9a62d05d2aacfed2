// Serves the built client. Every page gets a strict Content-Security-Policy:
// the app's code is the trust anchor for E2EE in a browser, so nothing from
// elsewhere may run in it.

import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self' ws: wss:; " +
    "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; style-src 'self' 'unsafe-inline'; object-src 'none'; " +
    "base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

export function staticHandler(root: string, extraHeaders: () => Record<string, string> = () => ({})) {
  const rootResolved = path.resolve(root);
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json', ...extraHeaders() }).end(JSON.stringify({ ok: true }));
      return;
    }
    let rel = decodeURIComponent(url.pathname);
    if (rel.endsWith('/')) rel += 'index.html';
    const file = path.resolve(rootResolved, '.' + rel);
    if (!file.startsWith(rootResolved + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    fs.stat(file, (err, st) => {
      // Unknown paths without an extension get the app (client-side routes).
      const target = !err && st.isFile() ? file : path.extname(rel) === '' ? path.join(rootResolved, 'index.html') : undefined;
      if (!target) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
        return;
      }
      fs.readFile(target, (err2, body) => {
        if (err2) {
          res.writeHead(err2.code === 'ENOENT' ? 404 : 500, { 'Content-Type': 'text/plain' }).end(
            err2.code === 'ENOENT' ? 'client not built: run npm start' : 'error',
          );
          return;
        }
        const immutable = target.includes(`${path.sep}assets${path.sep}`);
        res.writeHead(200, {
          'Content-Type': TYPES[path.extname(target)] ?? 'application/octet-stream',
          'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
          ...SECURITY_HEADERS,
          ...extraHeaders(),
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
    });
  };
}
