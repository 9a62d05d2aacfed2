// Fuzzes the signaling server while a meeting is in progress.
//
// Two well-behaved members (A and B) hold meeting M, each with a send
// transport; A also has a real audio producer. Seven fuzzing connections then
// send more than 12,000 random and mutated messages: bad JSON, non-objects,
// every message type with every field given a wrong type, huge fields, deep
// nesting, odd Unicode, prototype-pollution keys, ids that do not exist or
// belong to someone else, requests in the wrong order, and binary frames. Six
// of them pace themselves just under the rate limit; one goes over it on
// purpose. Meanwhile A and B keep relaying to each other.
//
// Each message is classified the way the server sees it (its UTF-8 round trip
// through the shared validator): a message the validator rejects must get that
// error, as a response to its id or as an `error` notice when it has no usable
// id; a valid one must get a response to its id whose outcome fits what the
// connection did before (NOT_JOINED before a join, UNKNOWN_TRANSPORT for a
// transport that is not its own, ...), and never INTERNAL. The server sends the
// replies that need no request handling at once and in order, so they are
// matched one by one against the messages sent; a message with no reply at
// all, or a reply nobody asked for, fails the test.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import { startTestServer } from '../../harness/server.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { audit, type Audit } from './lib/audit.ts';
import { FuzzConn, type Arena } from './lib/conn.ts';
import { Generator, sweepTable } from './lib/generator.ts';
import { MemberLog, meetingInProgress, relayLoop } from './lib/members.ts';
import { GREEDY, PACED, SEED, sleep, until } from './lib/util.ts';
import { Rng } from './rng.ts';

let server: RunningServer;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => void unhandled.push(e);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  server = await startTestServer();
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await server?.close();
});

describe('signaling server under fuzzing', () => {
  it('answers every one of >10,000 malformed, mutated and out-of-order messages and keeps the meeting going', async () => {
    const meetingId = `fuzz-m-${SEED.toString(16)}`;
    const { a, b, ja, jb, transports, producerId } = await meetingInProgress(server.url, meetingId);
    const aLog = new MemberLog(a, [jb.participantId]);
    const bLog = new MemberLog(b, [ja.participantId]);
    const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();

    const arena: Arena = {
      meetingId,
      memberIds: [ja.participantId, jb.participantId],
      memberTransports: transports,
      memberProducer: producerId,
      fuzzMeetings: ['fuzz-room-1', 'fuzz-room-2', 'fuzz-call'],
      invented: new Set(),
      fuzzersInM: new Set(),
      producers: new Set([producerId]),
      sweep: sweepTable(),
      sweepAt: 0,
    };
    const plans = [...Array.from({ length: PACED.count }, () => PACED), ...Array.from({ length: GREEDY.count }, () => GREEDY)];
    const fuzzers = await Promise.all(
      plans.map((_, i) => FuzzConn.open(server.url, `fuzzer-${i}${plans[i] === GREEDY ? '-greedy' : ''}`, arena)),
    );

    const relays = relayLoop(a, b, ja.participantId, jb.participantId);
    const started = performance.now();
    await Promise.all(
      fuzzers.map(async (f, i) => {
        const plan = plans[i]!;
        const gen = new Generator(new Rng(SEED + i), f, arena);
        const t0 = performance.now();
        while (f.sent.length < plan.messages) {
          const budget = Math.min(plan.messages, plan.burst + Math.floor((plan.perSecond * (performance.now() - t0)) / 1000));
          while (f.sent.length < budget) {
            if (f.script.length === 0) f.script.push(...gen.next());
            const out = f.script.shift()!;
            f.send(out);
          }
          await sleep(5);
        }
      }),
    );
    const sendMs = performance.now() - started;
    // Every message gets exactly one reply; wait for the last ones.
    await until(
      () => fuzzers.every((f) => f.replies >= f.sent.length || f.closed !== undefined),
      20_000,
      'a reply to every fuzz message',
    ).catch(() => {});
    await sleep(200); // anything extra would arrive now
    const replyMs = performance.now() - started;
    const during = await relays.stop();

    const audits = fuzzers.map((f) => audit(f, arena));
    const missing = fuzzers
      .map((f) => `${f.name}: ${f.sent.length} sent, ${f.replies} replies`)
      .filter((_, i) => fuzzers[i]!.replies !== fuzzers[i]!.sent.length);

    // The fuzzers leave; the meeting must be back to its two members.
    await Promise.all(fuzzers.map((f) => f.close()));
    await until(() => server.registry.get(meetingId)?.participants.size === 2, 10_000, 'the fuzzers to leave meeting M');
    await until(() => aLog.peers.size === 1 && bLog.peers.size === 1, 5_000, 'the members to hear the fuzzers leave').catch(() => {});

    // A newcomer can still join M and reach both members; the health check answers.
    const fresh = await TestClient.connect(server.url);
    const jf = await fresh.join(meetingId);
    expect(jf.peers.map((p) => p.participantId)).toEqual([ja.participantId, jb.participantId]);
    expect(await fresh.request({ type: 'relay', to: null, payload: 'hello after the storm' })).toMatchObject({ ok: true });
    await a.waitFor((n) => n.type === 'relay' && n.payload === 'hello after the storm' && n.from === jf.participantId);
    await b.waitFor((n) => n.type === 'relay' && n.payload === 'hello after the storm' && n.from === jf.participantId);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    const after = relayLoop(a, b, ja.participantId, jb.participantId);
    await sleep(300);
    const afterStats = await after.stop();
    await fresh.close();

    // ---- report
    const total = (k: keyof Omit<Audit, 'name' | 'codes' | 'problems'>): number => audits.reduce((n, x) => n + x[k], 0);
    const codes = new Map<string, number>();
    for (const x of audits) for (const [c, n] of x.codes) codes.set(c, (codes.get(c) ?? 0) + n);
    const bytes = fuzzers.reduce((n, f) => n + f.sent.reduce((m, s) => m + s.bytes, 0), 0);
    console.log(
      [
        `signaling fuzz (seed ${SEED.toString(16)}): ${total('sent')} messages (${(bytes / 1e6).toFixed(1)} MB) from ${fuzzers.length} connections ` +
          `in ${(sendMs / 1000).toFixed(1)} s, all replies by ${(replyMs / 1000).toFixed(1)} s`,
        `  processed ${total('processed')}, rate-limited ${total('rateLimited')}; replies: ${total('okResponses')} ok, ` +
          `${total('errorResponses')} error responses, ${total('errorNotices')} error notices`,
        `  codes: ${[...codes]
          .sort((x, y) => y[1] - x[1])
          .map(([c, n]) => `${c}:${n}`)
          .join(' ')}`,
        ...audits.map(
          (x, i) =>
            `  ${x.name.padEnd(16)} sent ${x.sent}, replies ${fuzzers[i]!.replies}: processed ${x.processed}, rate-limited ${x.rateLimited}`,
        ),
        `  members: ${during.roundTrips} relay round trips during the fuzzing (worst ${Math.round(during.worstMs)} ms), ${afterStats.roundTrips} after; ` +
          `${arena.fuzzersInM.size} fuzzer joins of M`,
      ].join('\n'),
    );

    // ---- every message answered, each as the validator and the connection's history say
    expect(audits.flatMap((x) => x.problems)).toEqual([]);
    expect(missing).toEqual([]);
    expect(total('processed')).toBeGreaterThanOrEqual(10_000);
    expect(total('processed') + total('rateLimited')).toBe(total('sent'));
    expect(codes.get('INTERNAL')).toBeUndefined();

    // ---- the members were not disturbed
    expect(during.failures).toEqual([]);
    expect(during.roundTrips).toBeGreaterThanOrEqual(5);
    expect(afterStats.failures).toEqual([]);
    expect(afterStats.roundTrips).toBeGreaterThanOrEqual(1);
    for (const [log, other] of [
      [aLog, jb.participantId],
      [bLog, ja.participantId],
    ] as const) {
      expect(log.notices.filter((n) => n.type === 'error')).toEqual([]);
      const strangers = log.notices.filter((n) => {
        if (n.type === 'participant-joined' || n.type === 'participant-left')
          return !arena.fuzzersInM.has(n.participantId) && n.participantId !== jf.participantId;
        if (n.type === 'relay') return n.from !== other && !arena.fuzzersInM.has(n.from) && n.from !== jf.participantId;
        if (n.type === 'producer-added' || n.type === 'producer-closed' || n.type === 'producer-paused')
          return !arena.fuzzersInM.has(n.participantId);
        if (n.type === 'active-speaker') return !arena.fuzzersInM.has(n.participantId) && !arena.memberIds.includes(n.participantId);
        return n.type !== 'consumer-closed';
      });
      expect(strangers).toEqual([]);
      expect([...log.peers].filter((p) => p !== jf.participantId)).toEqual([other]);
    }
    // Nobody closed or paused A's producer, and M holds exactly the members.
    const room = server.registry.get(meetingId)!;
    const producer = room.participants.get(ja.participantId)?.producers.get(producerId)?.producer;
    expect(producer?.closed).toBe(false);
    expect(producer?.paused).toBe(false);
    expect([...room.participants.keys()].sort()).toEqual([ja.participantId, jb.participantId].sort());

    // ---- and the process is intact
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoBefore);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(unhandled).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  }, 60_000);
});
