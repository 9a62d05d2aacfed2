// A mediasoup worker dies (SIGKILL) under a meeting: the meeting moves to the
// replacement worker instead of ending. Everyone stays (same instance, same
// participants) and is told to set up media again; what lived on the dead
// worker is gone, and new transports work. Also: ICE restart hands out new
// ICE credentials for a live transport.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import type { MediaRestart } from '../../shared/protocol/signaling.ts';
import { startTestServer } from '../../harness/server.ts';
import { TestClient } from '../../harness/ws-client.ts';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe('a dead mediasoup worker', () => {
  it('moves its meeting to a fresh worker and tells everyone to set up media again; nobody leaves', { timeout: 30_000 }, async () => {
    const m = `worker-death-${Date.now()}`;
    const a = await TestClient.connect(server.url);
    const b = await TestClient.connect(server.url);
    const ja = await a.join(m);
    await b.join(m);
    const t = await a.request({ type: 'create-transport', direction: 'send' });
    expect(t.ok).toBe(true);
    const oldTransport = t.ok ? t.data.transportId : '';
    const [dead] = server.workerPids();

    process.kill(dead!, 'SIGKILL');
    const restarts = (await Promise.all(
      [a, b].map((c) => c.waitFor((n): n is MediaRestart => n.type === 'media-restart', 15_000)),
    )) as MediaRestart[];
    for (const r of restarts) expect((r.routerRtpCapabilities['codecs'] as unknown[]).length).toBeGreaterThan(0);

    const room = server.registry.get(m);
    expect(room?.instanceId).toBe(ja.instanceId);
    expect(room?.participants.size).toBe(2);
    expect(server.workerPids()).not.toContain(dead);
    expect(a.notices.filter((n) => n.type === 'participant-left')).toEqual([]);
    // What lived on the dead worker is gone; a new transport works.
    expect(await a.request({ type: 'restart-ice', transportId: oldTransport })).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_TRANSPORT' },
    });
    expect(await a.request({ type: 'create-transport', direction: 'send' })).toMatchObject({ ok: true });
    // And a new meeting gets a router on the live worker.
    const c = await TestClient.connect(server.url);
    await c.join(`${m}-new`);
    expect(await c.request({ type: 'create-transport', direction: 'recv' })).toMatchObject({ ok: true });
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('answers an ICE restart with new ICE credentials for the transport', async () => {
    const a = await TestClient.connect(server.url);
    await a.join(`ice-${Date.now()}`);
    const t = await a.request({ type: 'create-transport', direction: 'recv' });
    if (!t.ok) throw new Error(t.error.message);
    const r = await a.request({ type: 'restart-ice', transportId: t.data.transportId });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.data.iceParameters['usernameFragment']).toEqual(expect.any(String));
    expect(r.data.iceParameters['usernameFragment']).not.toBe(t.data.iceParameters['usernameFragment']);
    await a.close();
  });
});
