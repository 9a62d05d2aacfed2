// How often does a participant get another's participant-joined notice before
// its own join response? Two TestClients join a new meeting at the same time,
// N times. When it happens, the later joiner is also missing from the earlier
// one's `peers`, and the browser client's E2EE controller (which has no key
// agent until the join response) drops the notice: the later joiner is never
// keyed (its announcement is rejected as UNKNOWN_PARTICIPANT).
//
//   npx tsx bench/join-race.ts [--runs 30]

import { startTestServer } from '../harness/server.ts';
import { TestClient } from '../harness/ws-client.ts';
import { runBench } from './perf-lib.ts';
import { parseCommandLine } from '../harness/cli.ts';

const { values: opts } = parseCommandLine({
  command: 'npx tsx bench/join-race.ts',
  summary: 'Two clients join a new meeting at the same moment, N times: how often one hears of the other before its own join response.',
  options: { runs: { kind: 'number', default: 30, help: 'simultaneous joins to try' } },
});

async function main(): Promise<void> {
  const server = await startTestServer();
  let early = 0;
  let missing = 0;
  let firstWasA = 0;
  try {
    for (let i = 0; i < opts.runs; i++) {
      const a = await TestClient.connect(server.url);
      const b = await TestClient.connect(server.url);
      const meeting = `race-${Date.now()}-${i}`;
      // Order as received on the socket (a promise continuation can run after
      // later frames of the same read were already dispatched).
      let aAnswered = false;
      let noticeFirst = false;
      a.ws.on('message', (d) => {
        const type = (JSON.parse(d.toString()) as { type: string }).type;
        if (type === 'response') aAnswered = true;
        else if (type === 'participant-joined' && !aAnswered) noticeFirst = true;
      });
      const [ra, rb] = await Promise.all([a.join(meeting), b.join(meeting)]);
      if (rb.peers.some((p) => p.participantId === ra.participantId)) {
        firstWasA++;
        if (noticeFirst) early++;
        if (noticeFirst && !ra.peers.some((p) => p.participantId === rb.participantId)) missing++;
      }
      await a.close();
      await b.close();
    }
  } finally {
    await server.close();
  }
  console.log(
    `${opts.runs} concurrent join pairs on a new meeting; A joined first in ${firstWasA}: A got participant-joined(B) before its own join response in ${early}, ` +
      `and B was missing from A's peers in ${missing} of those`,
  );
}

runBench(main);
