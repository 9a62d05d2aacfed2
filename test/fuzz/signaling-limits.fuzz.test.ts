// The signaling server's limits at the edge of the fuzzing: messages just and
// far over the size limit, text frames that are not UTF-8, binary frames
// against the rate limit; the meeting in progress must not notice.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../../server/app.ts';
import { LIMITS, PROTOCOL_VERSION, type ServerMessage } from '../../shared/protocol/signaling.ts';
import { startTestServer } from '../../harness/server.ts';
import { meetingInProgress } from './lib/members.ts';
import { SEED, until } from './lib/util.ts';

let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe('signaling server: limits at the edge of the fuzzing', () => {
  /** Sends raw frames on one connection and collects what comes back. */
  async function rawConn() {
    const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/ws');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const got: ServerMessage[] = [];
    let closed: { code: number } | undefined;
    ws.on('message', (d) => got.push(JSON.parse(String(d)) as ServerMessage));
    ws.on('close', (code) => (closed = { code }));
    return { ws, got, closed: () => closed };
  }

  it('answers a message just over the size limit with TOO_LARGE and keeps the connection (README: "gets an error reply")', async () => {
    const { a, b, ja, jb } = await meetingInProgress(server.url, `fuzz-size-${SEED.toString(16)}`);
    const c = await rawConn();
    const cases = [
      ['one byte over, ASCII', JSON.stringify({ id: 1, type: 'leave', pad: '' }).replace('""', `"${'x'.repeat(LIMITS.maxMessageBytes)}"`)],
      // 150,000 characters but 300,000 bytes: the limit is in bytes.
      ['over in bytes, under in characters', JSON.stringify({ id: 2, type: 'leave', pad: 'é'.repeat(150_000) })],
    ] as const;
    for (const [, text] of cases) c.ws.send(text);
    c.ws.send(JSON.stringify({ id: 3, type: 'join', v: PROTOCOL_VERSION, meetingId: 'fuzz-size-after' }));
    await until(() => c.got.length >= 3 || c.closed() !== undefined, 5_000, 'replies to oversized messages').catch(() => {});
    expect(c.closed(), 'the connection must survive an oversized message').toBeUndefined();
    expect(c.got.slice(0, 2)).toMatchObject([{ error: { code: 'TOO_LARGE' } }, { error: { code: 'TOO_LARGE' } }]);
    expect(c.got[2]).toMatchObject({ type: 'response', id: 3, ok: true });
    c.ws.terminate();
    // The meeting carries on either way.
    expect(await a.request({ type: 'relay', to: jb.participantId, payload: 'fine' })).toMatchObject({ ok: true });
    await b.waitFor((n) => n.type === 'relay' && n.from === ja.participantId && n.payload === 'fine');
    await Promise.all([a.close(), b.close()]);
  });

  it('refuses a message far over the size limit without harm to the meeting (a TOO_LARGE reply, or a 1009 close)', async () => {
    const { a, b, ja, jb } = await meetingInProgress(server.url, `fuzz-huge-${SEED.toString(16)}`);
    const c = await rawConn();
    c.ws.send(JSON.stringify({ id: 1, type: 'relay', to: null, payload: 'z'.repeat(LIMITS.maxMessageBytes * 16) }));
    await until(() => c.got.length > 0 || c.closed() !== undefined, 10_000, 'a reply or a close');
    if (c.closed()) expect(c.closed()!.code).toBe(1009);
    else expect(c.got[0]).toMatchObject({ error: { code: 'TOO_LARGE' } });
    c.ws.terminate();
    expect(await a.request({ type: 'relay', to: jb.participantId, payload: 'fine' })).toMatchObject({ ok: true });
    await b.waitFor((n) => n.type === 'relay' && n.from === ja.participantId && n.payload === 'fine');
    expect(b.notices.filter((n) => n.type === 'relay' && n.payload.length > 1000)).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  it('fails a text frame that is not UTF-8 (RFC 6455: close 1007) and nobody else notices', async () => {
    const { a, b, ja, jb } = await meetingInProgress(server.url, `fuzz-utf8-${SEED.toString(16)}`);
    const c = await rawConn();
    // A valid-looking message with an overlong encoding and a stray continuation byte inside a string.
    const bad = Buffer.concat([
      Buffer.from('{"id":1,"type":"relay","to":null,"payload":"'),
      Buffer.from([0xc0, 0x80, 0x80, 0xff]),
      Buffer.from('"}'),
    ]);
    c.ws.send(bad, { binary: false });
    await until(() => c.closed() !== undefined, 5_000, 'the connection to be failed');
    expect(c.closed()!.code).toBe(1007);
    expect(await a.request({ type: 'relay', to: jb.participantId, payload: 'fine' })).toMatchObject({ ok: true });
    await b.waitFor((n) => n.type === 'relay' && n.from === ja.participantId && n.payload === 'fine');
    expect([...a.notices, ...b.notices].filter((n) => n.type === 'error')).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  it('counts binary frames against the rate limit like any other message', async () => {
    const c = await rawConn();
    const n = LIMITS.rateBurst + 500;
    for (let i = 0; i < n; i++) c.ws.send(Buffer.from([i & 0xff]), { binary: true });
    await until(() => c.got.length >= n || c.closed() !== undefined, 10_000, 'a reply to every binary frame');
    const codes = c.got.map((m) => (m.type === 'error' ? m.error.code : m.type));
    expect(codes.filter((x) => x === 'BAD_MESSAGE').length).toBeLessThanOrEqual(LIMITS.rateBurst + 50);
    expect(codes.filter((x) => x === 'RATE_LIMITED').length).toBeGreaterThan(0);
    c.ws.terminate();
  });
});
