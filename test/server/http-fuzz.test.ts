// HTTP fuzz (issue #12): 10,000 malformed requests over raw TCP to the real
// server on 127.0.0.1 — bad paths and percent-encodings, odd methods, garbage
// and huge headers, huge URLs, half-open requests that stop midway, raw bytes.
// Every reply must be a client error or an ordinary answer (never a 5xx), and
// afterwards the server must still serve the app and hold a meeting.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import { startTestServer } from '../../harness/server.ts';
import { seededRandom } from '../../harness/sim.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { rawRequest, type RawReply } from './raw-http.ts';

const REQUESTS = 10_000;
const CONCURRENCY = 48;
/** The whole run must finish well inside this (it takes a few seconds on an idle machine). */
const DEADLINE_MS = 60_000;

let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

// ---------------------------------------------------------------- generators

interface Fuzzed {
  kind: string;
  bytes: Buffer;
  /** Half-open: the client stops sending and closes after this long. */
  holdMs?: number;
}

function generator(seed: number): () => Fuzzed {
  const r = seededRandom(seed); // the simulation's mulberry32: a failing request can be regenerated
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(0, 255)));
  const printable = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(int(0x21, 0x7e))).join('');
  const request = (method: string, target: string, headers: string[] = [], body = ''): string =>
    `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => h + '\r\n').join('')}\r\n${body}`;

  const badPaths = [
    '/..',
    '/../..',
    '/../../etc/passwd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/..%2f..%2fpackage.json',
    '/..%5c..%5cpackage.json',
    '//etc/passwd',
    '/./././index.html',
    '/index.html/..',
    '/assets/../../package.json',
    '/.git/config',
    '/\\..\\..\\',
    '/%00',
    '/index.html%00.js',
    '/%2f%2f',
    '/assets/',
    '/assets',
    '/?' + 'q'.repeat(100),
    '/#frag',
    '*',
    'http://evil.example/',
  ];
  const percent = (): string => {
    const parts = ['%', '%f', '%ff', '%FF', '%c0%af', '%e0%80', '%e2%82', '%ed%a0%80', '%g1', '%%', '%zz', '%0', '%2', '%80', '%fe%ff'];
    return '/' + Array.from({ length: int(1, 6) }, () => (r() < 0.7 ? pick(parts) : printable(int(1, 4)))).join('');
  };
  const methods = ['FOO', 'get', 'Get', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'M-SEARCH', 'PRI', 'SOURCE', 'CONNECT'];
  methods.push('G E T', '');

  const kinds: Array<[string, () => Omit<Fuzzed, 'kind'>]> = [
    ['bad-path', () => ({ bytes: Buffer.from(request('GET', pick(badPaths), ['Connection: close'])) })],
    ['bad-percent', () => ({ bytes: Buffer.from(request(pick(['GET', 'HEAD']), percent(), ['Connection: close'])) })],
    [
      'odd-method',
      () => ({ bytes: Buffer.from(request(r() < 0.8 ? pick(methods) : printable(int(1, 24)), pick(['/', '/ws', '/healthz', percent()]))) }),
    ],
    [
      'garbage-header',
      () => {
        const h = pick([
          'NoColonHere',
          'Bad Name: x',
          'X: \u0001\u0002',
          'Content-Length: -1',
          'Content-Length: abc',
          'Content-Length: 1\r\nContent-Length: 2',
          'Transfer-Encoding: chunked\r\nContent-Length: 3',
          'Transfer-Encoding: gzip, chunked, rubbish',
          ' folded: line',
          'Host: a\r\nHost: b',
          `X-Bin: ${bytes(int(1, 40)).toString('latin1')}`,
          ': empty-name',
          'Expect: 100-continue',
        ]);
        return { bytes: Buffer.from(request('GET', '/', [h, 'Connection: close']), 'latin1') };
      },
    ],
    [
      'huge-header',
      () =>
        r() < 0.5
          ? { bytes: Buffer.from(request('GET', '/', [`X-Big: ${'a'.repeat(int(17_000, 80_000))}`])) }
          : {
              bytes: Buffer.from(
                request(
                  'GET',
                  '/',
                  Array.from({ length: int(200, 3000) }, (_, i) => `X-H${i}: ${printable(8)}`),
                ),
              ),
            },
    ],
    ['huge-url', () => ({ bytes: Buffer.from(request('GET', '/' + 'a/'.repeat(int(5_000, 60_000)), ['Connection: close'])) })],
    [
      'half-open',
      () => {
        const full = request('GET', pick(['/', '/index.html', percent()]), ['Content-Length: 1000'], 'x'.repeat(int(0, 20)));
        return { bytes: Buffer.from(full.slice(0, int(1, full.length))), holdMs: int(20, 150) };
      },
    ],
    ['raw-bytes', () => ({ bytes: bytes(int(1, 2000)) })],
    [
      'bad-version',
      () => ({ bytes: Buffer.from(pick(['GET / HTTP/9.9', 'GET / HTTP/1', 'GET /', 'GET / FOO/1.1', 'GET / HTTP/1.1 x']) + '\r\n\r\n') }),
    ],
    [
      'bad-upgrade',
      () => ({
        bytes: Buffer.from(
          request('GET', pick(['/ws', '/other', percent()]), [
            'Upgrade: websocket',
            'Connection: Upgrade',
            `Sec-WebSocket-Key: ${printable(int(0, 30))}`,
            pick(['Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 99', '']),
          ]),
        ),
      }),
    ],
    [
      'pipelined',
      () => ({ bytes: Buffer.concat([Buffer.from(request('GET', '/healthz') + request('GET', percent())), bytes(int(1, 100))]) }),
    ],
  ];

  return () => {
    const [kind, make] = pick(kinds);
    return { kind, ...make() };
  };
}

// ---------------------------------------------------------------- the run

interface Tally {
  sent: number;
  statuses: Record<string, number>;
  serverErrors: Array<{ kind: string; status: number; request: string }>;
}

async function fuzz(port: number, seed: number): Promise<Tally> {
  const next = generator(seed);
  const tally: Tally = { sent: 0, statuses: {}, serverErrors: [] };
  const deadline = Date.now() + DEADLINE_MS;
  const lane = async (): Promise<void> => {
    while (tally.sent < REQUESTS && Date.now() < deadline) {
      tally.sent++;
      const f = next();
      const reply: RawReply = await rawRequest(port, f.bytes, { timeoutMs: 3000, holdMs: f.holdMs });
      const key = `${f.kind} ${reply.status ?? (reply.closedByServer ? 'closed' : 'no reply')}`;
      tally.statuses[key] = (tally.statuses[key] ?? 0) + 1;
      if (reply.status !== undefined && reply.status >= 500) {
        tally.serverErrors.push({ kind: f.kind, status: reply.status, request: f.bytes.subarray(0, 200).toString('latin1') });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return tally;
}

describe('HTTP fuzz', () => {
  it(
    'survives 10,000 malformed requests with client errors only, then still serves the app and holds a meeting',
    async () => {
      const started = Date.now();
      const tally = await fuzz(server.port, 0x5eed);
      const seconds = (Date.now() - started) / 1000;
      console.log(`[http-fuzz] ${tally.sent} requests in ${seconds.toFixed(1)} s\n${JSON.stringify(tally.statuses, null, 1)}`);

      expect(tally.sent).toBe(REQUESTS);
      expect(tally.serverErrors).toEqual([]);
      // The bad percent-encodings did reach the file server and were refused there.
      expect(tally.statuses['bad-percent 400']).toBeGreaterThan(0);

      const app = await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      expect(app.status).toBe(200);
      expect(app.body).toContain('<!doctype html>');

      const a = await TestClient.connect(server.url);
      const b = await TestClient.connect(server.url);
      try {
        const joinedA = await a.join('after-fuzz');
        await b.join('after-fuzz');
        const seen = await a.waitFor((n) => n.type === 'participant-joined');
        expect(seen).toEqual({ type: 'participant-joined', participantId: expect.any(String) });
        expect(joinedA.participantId).toBeTruthy();
      } finally {
        a.ws.close();
        b.ws.close();
      }
    },
    DEADLINE_MS + 30_000,
  );
});
