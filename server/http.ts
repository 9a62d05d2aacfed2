// Serves the built client. Every page gets a strict Content-Security-Policy:
// the app's code is the trust anchor for E2EE in a browser, so nothing from
// elsewhere may run in it.
//
// File serving is serve-static (send underneath): it decodes and normalises
// the path, refuses traversal and NUL bytes, and answers a bad percent-encoding
// with 400 instead of throwing, so one malformed request cannot end the process
// and every meeting on it.

import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import serveStatic from 'serve-static';

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

/** What serve-static hands on when it does not answer itself (http-errors carry a status). */
type HttpFailure = (Error & { status?: number; statusCode?: number }) | undefined;

export function staticHandler(root: string, extraHeaders: () => Record<string, string> = () => ({})) {
  const rootResolved = path.resolve(root);
  const serve = serveStatic(rootResolved, {
    index: ['index.html'],
    // A directory without its trailing slash is an unknown path, not a redirect.
    redirect: false,
    // Errors come back to us so a bad request gets its 4xx, never the app.
    fallthrough: false,
    cacheControl: false,
    setHeaders(res, file) {
      const type = TYPES[path.extname(file)];
      if (type) res.setHeader('Content-Type', type);
      const immutable = file.includes(`${path.sep}assets${path.sep}`);
      res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      for (const [k, v] of Object.entries({ ...SECURITY_HEADERS, ...extraHeaders() })) res.setHeader(k, v);
    },
  });

  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (pathOf(req) === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json', ...extraHeaders() }).end(JSON.stringify({ ok: true }));
      return;
    }
    serve(req, res, (failure: HttpFailure) => {
      const status = failure?.status ?? failure?.statusCode ?? 404;
      // Unknown paths without an extension get the app (client-side routes).
      if (status === 404 && path.extname(pathOf(req)) === '') {
        req.url = '/';
        serve(req, res, () => plain(res, 404, 'client not built: run npm start'));
        return;
      }
      plain(res, status, status === 404 ? 'not found' : status < 500 ? 'bad request' : 'error');
    });
  };
}

/** The request's path, undecoded (decoding is serve-static's job, and may fail). */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

function plain(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'text/plain', 'X-Content-Type-Options': 'nosniff' }).end(text);
}
