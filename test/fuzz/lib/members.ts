// The well-behaved members of the meeting under fuzzing: setting the meeting
// up, what each member hears, and their relay round trips while it runs.

import { type ServerNotice } from '../../../shared/protocol/signaling.ts';
import { opusRtp, sleep } from './util.ts';
import { TestClient } from '../../../harness/ws-client.ts';

// ---------------------------------------------------------------- the members

/** A member's view of the meeting, from its join result and notices. */
export class MemberLog {
  readonly notices: ServerNotice[] = [];
  readonly peers: Set<string>;
  constructor(client: TestClient, peers: string[]) {
    this.peers = new Set(peers);
    client.noticeHandler = (n) => {
      this.notices.push(n);
      if (n.type === 'participant-joined') this.peers.add(n.participantId);
      if (n.type === 'participant-left') this.peers.delete(n.participantId);
    };
  }
}

/** A and B relay to each other, one round trip at a time, until stopped. */
export function relayLoop(
  a: TestClient,
  b: TestClient,
  aId: string,
  bId: string,
): { stop: () => Promise<{ roundTrips: number; worstMs: number; failures: string[] }> } {
  let running = true;
  let roundTrips = 0;
  let worstMs = 0;
  const failures: string[] = [];
  const done = (async () => {
    for (let i = 0; running; i++) {
      const t0 = performance.now();
      try {
        const ping = `ping-${i}`;
        const sent = await a.request({ type: 'relay', to: bId, payload: ping });
        if (!sent.ok) throw new Error(`A's relay failed: ${sent.error.code}`);
        await b.waitFor((n) => n.type === 'relay' && n.payload === ping && n.from === aId, 15_000);
        const pong = `pong-${i}`;
        const back = await b.request({ type: 'relay', to: aId, payload: pong });
        if (!back.ok) throw new Error(`B's relay failed: ${back.error.code}`);
        await a.waitFor((n) => n.type === 'relay' && n.payload === pong && n.from === bId, 15_000);
        roundTrips++;
        worstMs = Math.max(worstMs, performance.now() - t0);
      } catch (e) {
        failures.push(String(e));
      }
      await sleep(50);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return { roundTrips, worstMs, failures };
    },
  };
}

/** Meeting M with members A and B, each with a send transport; A sends audio. */
export async function meetingInProgress(url: string, meetingId: string) {
  const a = await TestClient.connect(url);
  const b = await TestClient.connect(url);
  const ja = await a.join(meetingId);
  const jb = await b.join(meetingId);
  await a.waitFor((n) => n.type === 'participant-joined' && n.participantId === jb.participantId);
  const ta = await a.request({ type: 'create-transport', direction: 'send' });
  const tb = await b.request({ type: 'create-transport', direction: 'send' });
  if (!ta.ok || !tb.ok) throw new Error('members could not create transports');
  const produced = await a.request({
    type: 'produce',
    transportId: ta.data.transportId,
    kind: 'audio',
    source: 'mic',
    rtpParameters: opusRtp(4242),
  });
  if (!produced.ok) throw new Error(`member A could not produce: ${produced.error.message}`);
  await b.waitFor((n) => n.type === 'producer-added');
  return { a, b, ja, jb, transports: [ta.data.transportId, tb.data.transportId], producerId: produced.data.producerId };
}
