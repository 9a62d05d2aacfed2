// A race the signaling fuzzing found: a join that arrives as the meeting's
// last member leaves must get a fresh meeting, not INTERNAL.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import { Room } from '../../server/room.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/signaling.ts';
import { startTestServer } from '../../harness/server.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { until } from './lib/util.ts';

let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe('signaling server: a race the fuzzing found', () => {
  it("lets a join in when the meeting's last member leaves at the same moment (a fresh meeting, not INTERNAL)", async () => {
    // The fuzzer saw `join` answered INTERNAL "meeting is closing, try again":
    // getOrCreate handed out the existing room, the last member's `leave` ran
    // in the same microtask drain and closed it, then join() hit the closed
    // room. Sessions share a drain when mediasoup replies to both arrive in one
    // channel read; a gate on create-transport makes that happen on demand,
    // and a few filler requests vary how the two request chains line up.
    let arrived = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const original = Room.prototype.createTransport;
    Room.prototype.createTransport = async function (this: Room, ...args: Parameters<typeof original>) {
      const t = await original.apply(this, args);
      arrived++;
      await gate;
      return t;
    };
    const clients: TestClient[] = [];
    try {
      const cases: Array<{ meetingId: string; join: Promise<unknown>; all: Promise<unknown>[] }> = [];
      for (let failing = 0; failing < 3; failing++) {
        for (let succeeding = 0; succeeding < 3; succeeding++) {
          for (const leaverFirst of [false, true]) {
            const meetingId = `fuzz-race-${failing}-${succeeding}-${leaverFirst ? 'y' : 'x'}`;
            const [x, y] = await Promise.all([TestClient.connect(server.url), TestClient.connect(server.url)]);
            clients.push(x, y);
            await y.join(meetingId);
            await x.join(`${meetingId}-elsewhere`);
            const leaver = (): Promise<unknown>[] => [
              y.request({ type: 'create-transport', direction: 'send' }),
              ...Array.from({ length: failing }, () => y.request({ type: 'relay', to: 'nobody', payload: 'p' })),
              ...Array.from({ length: succeeding }, () => y.request({ type: 'relay', to: null, payload: 'p' })),
              y.request({ type: 'leave' }),
            ];
            const joiner = (): Promise<unknown>[] => [
              x.request({ type: 'create-transport', direction: 'send' }),
              x.request({ type: 'leave' }),
              x.request({ type: 'join', v: PROTOCOL_VERSION, meetingId, mode: 'meeting' }),
            ];
            const all = leaverFirst ? [...leaver(), ...joiner()] : [...joiner(), ...leaver()];
            cases.push({ meetingId, join: all[leaverFirst ? all.length - 1 : 2]!, all });
          }
        }
      }
      await until(() => arrived === cases.length * 2, 10_000, 'every create-transport to reach the gate');
      open();
      const replies = await Promise.all(
        cases.map(async (c) => ({ meetingId: c.meetingId, reply: await c.join, rest: await Promise.all(c.all) })),
      );
      const refused = replies.filter((r) => !(r.reply as { ok: boolean }).ok).map((r) => `${r.meetingId}: ${JSON.stringify(r.reply)}`);
      expect(refused).toEqual([]);
      for (const r of replies) {
        const id = (r.reply as { data: { participantId: string } }).data.participantId;
        expect(server.registry.get(r.meetingId)?.participants.has(id), `${r.meetingId} holds the newcomer`).toBe(true);
      }
    } finally {
      Room.prototype.createTransport = original;
      open();
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
