// The real server (real mediasoup worker) on an ephemeral port, driven over
// WebSocket like a browser would, including malformed input.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import { LIMITS } from '../../shared/protocol/signaling.ts';
import { startTestServer } from '../../harness/server.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { MEDIA_COUNTS_PATH } from '../../server/media-counts.ts';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

let meetingSeq = 0;
const meeting = (): string => `int-${Date.now()}-${meetingSeq++}`;

describe('signaling server', () => {
  it('serves the client page with a strict content security policy', async () => {
    const res = await fetch(`${server.url}/?meeting=x`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await res.text()).toContain('<div id="app"');
  });

  it('creates a room on first join with router capabilities and a fresh instance id', async () => {
    const c = await TestClient.connect(server.url);
    const m = meeting();
    const j = await c.join(m);
    expect(j.meetingId).toBe(m);
    expect(j.peers).toEqual([]);
    expect(j.instanceId).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    const codecs = (j.routerRtpCapabilities['codecs'] as Array<{ mimeType: string }>).map((x) => x.mimeType);
    expect(codecs).toContain('video/VP8');
    expect(codecs).toContain('audio/opus');
    expect(codecs).not.toContain('video/H264');
    expect(server.registry.get(m)).toBeDefined();
    await c.close();
    await expect.poll(() => server.registry.get(m)).toBeUndefined();
  });

  it('tells present participants about joins and leaves, and lists peers in join order', async () => {
    const m = meeting();
    const a = await TestClient.connect(server.url);
    const b = await TestClient.connect(server.url);
    const c = await TestClient.connect(server.url);
    const ja = await a.join(m);
    const jb = await b.join(m);
    const joined = await a.waitFor((n) => n.type === 'participant-joined');
    // The notice names nobody: display names travel only sealed with the meeting link.
    expect(joined).toEqual({ type: 'participant-joined', participantId: jb.participantId });
    const jc = await c.join(m);
    expect(jc.peers.map((p) => p.participantId)).toEqual([ja.participantId, jb.participantId]);
    expect(jc.instanceId).toBe(ja.instanceId);
    await b.close();
    const left = await c.waitFor((n) => n.type === 'participant-left');
    expect(left).toMatchObject({ participantId: jb.participantId });
    await Promise.all([a.close(), c.close()]);
  });

  it('never lets a notice overtake the join response when two people open a new meeting at once', async () => {
    // Both joins wait for the same router; the first one's response used to
    // follow the second one's participant-joined, and that participant was lost.
    for (let round = 0; round < 10; round++) {
      const m = meeting();
      const clients = await Promise.all([TestClient.connect(server.url), TestClient.connect(server.url)]);
      const order = clients.map((c) => {
        const seen: string[] = [];
        c.ws.on('message', (d) => seen.push((JSON.parse(d.toString()) as { type: string }).type));
        return seen;
      });
      const joins = await Promise.all(clients.map((c) => c.join(m)));
      const [first, second] = joins[0]!.peers.length === 0 ? [0, 1] : [1, 0];
      await clients[first]!.waitFor((n) => n.type === 'participant-joined' && n.participantId === joins[second]!.participantId);
      expect(order[first]!.indexOf('response'), `round ${round}: ${order[first]!.join()}`).toBe(0);
      expect(joins[second]!.peers.map((p) => p.participantId)).toEqual([joins[first]!.participantId]);
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('relays opaque payloads to one participant or to all others, untouched', async () => {
    const m = meeting();
    const [a, b, c] = await Promise.all([TestClient.connect(server.url), TestClient.connect(server.url), TestClient.connect(server.url)]);
    const ja = await a.join(m);
    const jb = await b.join(m);
    await c.join(m);
    const payload = 'x'.repeat(1000) + '{"not":"parsed"}';
    expect((await a.request({ type: 'relay', to: jb.participantId, payload })).ok).toBe(true);
    expect(await b.waitFor((n) => n.type === 'relay')).toEqual({ type: 'relay', from: ja.participantId, payload });
    expect((await a.request({ type: 'relay', to: null, payload: 'all' })).ok).toBe(true);
    expect(await b.waitFor((n) => n.type === 'relay' && n.payload === 'all')).toMatchObject({ from: ja.participantId });
    expect(await c.waitFor((n) => n.type === 'relay' && n.payload === 'all')).toMatchObject({ from: ja.participantId });
    // The sender does not get its own broadcast back.
    await new Promise((r) => setTimeout(r, 100));
    expect(a.notices.filter((n) => n.type === 'relay')).toEqual([]);
    const unknown = await a.request({ type: 'relay', to: 'nobody', payload: 'p' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'UNKNOWN_PARTICIPANT' } });
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('answers malformed messages with coded errors and keeps the meeting going', async () => {
    const m = meeting();
    const a = await TestClient.connect(server.url);
    const b = await TestClient.connect(server.url);
    await a.join(m);
    const jb = await b.join(m);
    a.sendRaw('not json');
    expect(await a.waitFor((n) => n.type === 'error')).toMatchObject({ error: { code: 'BAD_JSON' } });
    expect(await a.request({ type: 'consume', transportId: 'nope' } as never)).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE' } });
    expect(await a.request({ type: 'resume-consumer', consumerId: '0b7d3f5e-1c2a-4b8e-9f00-123456789abc' })).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_CONSUMER' },
    });
    expect(await a.request({ type: 'relay', to: null, payload: 'y'.repeat(LIMITS.maxRelayPayload + 1) })).toMatchObject({
      ok: false,
      error: { code: 'TOO_LARGE' },
    });
    // A bad DTLS object reaches mediasoup, which rejects it: still a clean error.
    const t = await a.request({ type: 'create-transport', direction: 'send' });
    if (!t.ok) throw new Error('create-transport failed');
    expect(await a.request({ type: 'connect-transport', transportId: t.data.transportId, dtlsParameters: { role: 42 } })).toMatchObject({
      ok: false,
      error: { code: 'MEDIA_ERROR' },
    });
    // The connection and the meeting still work.
    expect((await a.request({ type: 'relay', to: jb.participantId, payload: 'still here' })).ok).toBe(true);
    expect(await b.waitFor((n) => n.type === 'relay')).toMatchObject({ payload: 'still here' });
    await Promise.all([a.close(), b.close()]);
  });

  it('refuses requests before join and a second join on one connection', async () => {
    const a = await TestClient.connect(server.url);
    expect(await a.request({ type: 'create-transport', direction: 'recv' })).toMatchObject({ ok: false, error: { code: 'NOT_JOINED' } });
    await a.join(meeting());
    const again = await a.request({ type: 'join', v: 1, meetingId: 'other', mode: 'meeting' });
    expect(again).toMatchObject({ ok: false, error: { code: 'ALREADY_JOINED' } });
    await a.close();
  });

  it('admits exactly two people to a one-on-one call and refuses a meeting join of a call link', async () => {
    const m = meeting();
    const [a, b, c] = await Promise.all([TestClient.connect(server.url), TestClient.connect(server.url), TestClient.connect(server.url)]);
    await a.join(m, 'call');
    await b.join(m, 'call');
    expect(await c.request({ type: 'join', v: 1, meetingId: m, mode: 'call' })).toMatchObject({
      ok: false,
      error: { code: 'CALL_FULL' },
    });
    expect(await c.request({ type: 'join', v: 1, meetingId: m, mode: 'meeting' })).toMatchObject({
      ok: false,
      error: { code: 'MODE_MISMATCH' },
    });
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('rate-limits a flooding connection without disturbing others', async () => {
    const m = meeting();
    const a = await TestClient.connect(server.url);
    const b = await TestClient.connect(server.url);
    await a.join(m);
    const jb = await b.join(m);
    for (let i = 0; i < LIMITS.rateBurst + 200; i++) a.sendRaw(JSON.stringify({ id: 100000 + i, type: 'leave-not' }));
    await a.waitFor((n) => n.type === 'error' && n.error.code === 'RATE_LIMITED');
    const c = await TestClient.connect(server.url);
    await c.join(m);
    expect((await c.request({ type: 'relay', to: jb.participantId, payload: 'hi' })).ok).toBe(true);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it("charges a relay to one participant a quarter of a message: a leader's key messages to 250 members, 3 epochs back to back, pass", async () => {
    const m = meeting();
    const a = await TestClient.connect(server.url);
    const b = await TestClient.connect(server.url);
    await a.join(m);
    const jb = await b.join(m);
    // 3 × 249 unicasts + 3 broadcasts: over the burst if every frame cost a whole token (1,000).
    const sent: Promise<{ ok: boolean }>[] = [];
    for (let epoch = 0; epoch < 3; epoch++) {
      for (let i = 0; i < 249; i++) sent.push(a.request({ type: 'relay', to: jb.participantId, payload: `k${epoch}.${i}` }));
      sent.push(a.request({ type: 'relay', to: null, payload: `delta${epoch}` }));
    }
    for (let i = 0; i < 300; i++) sent.push(a.request({ type: 'relay', to: jb.participantId, payload: `more${i}` }));
    expect((await Promise.all(sent)).every((r) => r.ok)).toBe(true);
    expect(a.notices.filter((n) => n.type === 'error')).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  it("cleans up a disconnected participant's transports and notifies the others", async () => {
    const m = meeting();
    const a = await TestClient.connect(server.url);
    const b = await TestClient.connect(server.url);
    await a.join(m);
    const jb = await b.join(m);
    const t = await b.request({ type: 'create-transport', direction: 'send' });
    expect(t.ok).toBe(true);
    const room = server.registry.get(m)!;
    const pb = room.participants.get(jb.participantId)!;
    expect(pb.transports.size).toBe(1);
    const transport = [...pb.transports.values()][0]!;
    b.ws.terminate();
    expect(await a.waitFor((n) => n.type === 'participant-left')).toMatchObject({ participantId: jb.participantId });
    expect(transport.closed).toBe(true);
    expect(room.participants.has(jb.participantId)).toBe(false);
    await a.close();
  });
});

describe('live mediasoup object counts (test mode only, for the soak bench)', () => {
  it('are not served by a server outside test mode', async () => {
    const res = await fetch(`${server.url}${MEDIA_COUNTS_PATH}`);
    expect(res.headers.get('content-type')).not.toContain('application/json');
    expect(await res.text()).not.toContain('transports');
  });

  it('follow a participant in and out: routers and transports come and go, back to the empty server', async () => {
    const testServer = await startTestServer(['--test-mode']);
    try {
      const counts = async () => (await fetch(`${testServer.url}${MEDIA_COUNTS_PATH}`)).json();
      const empty = { workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 };
      expect(await counts()).toEqual(empty);
      const c = await TestClient.connect(testServer.url);
      await c.join(meeting());
      expect((await c.request({ type: 'create-transport', direction: 'send' })).ok).toBe(true);
      expect((await c.request({ type: 'create-transport', direction: 'recv' })).ok).toBe(true);
      expect(await counts()).toEqual({ ...empty, routers: 1, transports: 2 });
      c.ws.terminate();
      await expect.poll(counts).toEqual(empty);
    } finally {
      await testServer.close();
    }
  });
});
