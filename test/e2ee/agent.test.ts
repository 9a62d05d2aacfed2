import { beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../shared/e2ee/wire.ts';
import { initCrypto } from '../../shared/e2ee/index.ts';
import { TIMING } from '../../shared/e2ee/constants.ts';
import { createKeysMessage } from '../../shared/e2ee/key-message.ts';
import { systemRandom } from '../../shared/e2ee/primitives.ts';
import { createRoster, memberFromAnnouncement, rosterHash, type Roster } from '../../shared/e2ee/roster.ts';
import { FakeHub, seededRandom, Simulation, VirtualClock, type FakeHubOptions, type SimParticipant } from '../../harness/sim.ts';

beforeAll(initCrypto);

interface Setup {
  clock: VirtualClock;
  hub: FakeHub;
  sim: Simulation;
  /** Relay payloads in order, opened with the meeting link. */
  traffic: { from: string; to: string | null; payload: string }[];
}

function setup(opts: { seed?: number; filter?: FakeHubOptions['filter']; maxPayloadChars?: number } = {}): Setup {
  const clock = new VirtualClock();
  const traffic: Setup['traffic'] = [];
  // The tests read and filter payloads as someone holding the meeting link (see harness.ts).
  const plain = (from: string, payload: string): string => {
    const holder = sim.members[0] ?? sim.departed[0];
    const o = holder?.link.open(from, payload);
    return o?.ok ? o.value : '';
  };
  const filter = opts.filter;
  const hub = new FakeHub(clock, {
    rng: seededRandom(opts.seed ?? 1),
    tap: (from, to, payload) => traffic.push({ from, to, payload: plain(from, payload) }),
    ...(filter ? { filter: (from: string, to: string, payload: string) => filter(from, to, plain(from, payload)) } : {}),
    ...(opts.maxPayloadChars ? { maxPayloadChars: opts.maxPayloadChars } : {}),
  });
  const sim = new Simulation({
    hub,
    env: clock,
    meetingId: 'agent-test',
    ...(opts.maxPayloadChars ? { maxPayloadChars: opts.maxPayloadChars } : {}),
  });
  return { clock, hub, sim, traffic };
}

async function meetingOf(n: number, s: Setup): Promise<SimParticipant[]> {
  const out: SimParticipant[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await s.sim.join());
    await s.sim.settle();
  }
  return out;
}

/** The newest relayed message of a type (decoded from the server's view). */
function lastOf(s: Setup, type: string, from?: string): { payload: string; decoded: ReturnType<typeof decodeMessage> } {
  const hit = [...s.traffic].reverse().find((t) => t.payload.includes(`"t":"${type}"`) && (from === undefined || t.from === from));
  if (!hit) throw new Error(`no ${type} relayed`);
  return { payload: hit.payload, decoded: decodeMessage(hit.payload) };
}

function lastRoster(s: Setup): Roster {
  const d = lastOf(s, 'roster').decoded;
  if (!d.ok || d.value.type !== 'roster') throw new Error('no roster');
  return d.value.roster;
}

const codes = (p: SimParticipant) => p.log.errors.map((e) => e.code);

/** Delivers a payload to `p` as the server would relay it from `from`, sealed with the meeting link (an insider's). */
const relayAs = (p: SimParticipant, from: string, payload: string): void => p.agent.onRelay(from, p.link.seal(from, payload));

describe('MeetingKeyAgent', () => {
  it('leads alone at start and is keyed at once', async () => {
    const s = setup();
    const [a] = await meetingOf(1, s);
    expect(a?.log.state).toBe('ok');
    expect(a?.agent.currentEpoch).toBe(1);
    expect(a?.log.roster?.members).toEqual([expect.objectContaining({ participantId: a?.id, isLeader: true })]);
    expect(a?.log.roster?.securityCode).toMatch(/^\d{5}( \d{5}){5}$/);
  });

  it('fails closed: never a key of anyone else while the present participants never key us; after 2 s of silence, a key of its own', async () => {
    const s = setup();
    // Someone the server lists as present but who never speaks the protocol.
    await s.hub.join('agent-test', { onPeerJoined() {}, onPeerLeft() {}, onRelay() {} });
    const newcomer = await s.sim.join();
    await s.clock.advance(TIMING.silentAheadMs - 100, () => newcomer.agent.idle());
    expect(newcomer.log.state).toBe('waiting-for-key');
    expect(newcomer.log.sent.size).toBe(0);
    // Silent for silentAheadMs: it starts a provisional chain of its own (protocol.md §5), keyed to nobody else.
    s.clock.setTimer(() => {}, 60_000);
    await s.sim.settle();
    expect(newcomer.log.state).toBe('ok');
    expect(newcomer.log.roster?.members.map((m) => m.participantId)).toEqual([newcomer.id]);
    expect([...newcomer.log.sent.keys()]).toEqual([1]);
    expect([...newcomer.log.received.keys()]).toEqual([1]);
  });

  it('switches without glitches: everyone can decrypt before anyone sends, old keys retire 5 s later', async () => {
    const s = setup();
    const members = await meetingOf(3, s);
    await s.sim.join();
    await s.sim.settle();
    const all = [...members, ...s.sim.members.slice(3)];
    const epoch = all[0]?.agent.currentEpoch ?? 0;
    const at = (p: SimParticipant, event: string, e: number) => p.log.timeline.find((x) => x.event === event && x.epoch === e)?.t ?? NaN;
    const lastInstall = Math.max(...all.map((p) => at(p, 'receive-keys', epoch)));
    const firstSend = Math.min(...all.map((p) => at(p, 'send-key', epoch)));
    expect(lastInstall).toBeLessThanOrEqual(firstSend);
    for (const p of members) expect(at(p, 'retire-epoch', epoch - 1) - at(p, 'send-key', epoch)).toBe(5000);
    expect(s.sim.check()).toEqual([]);
  });

  it('commits after the timeout when a member never acks, and that member still switches', async () => {
    let dropAcksFrom = '';
    const s = setup({ filter: (from, _to, payload) => !(from === dropAcksFrom && payload.includes('"t":"ack"')) });
    const [leader, , c] = await meetingOf(3, s);
    if (!leader || !c) throw new Error('setup');
    dropAcksFrom = c.id;
    await s.sim.join();
    await s.sim.settle();
    const epoch = leader.agent.currentEpoch;
    const t = (event: string) => leader.log.timeline.find((x) => x.event === event && x.epoch === epoch)?.t ?? NaN;
    expect(t('send-key') - t('receive-keys')).toBe(1500);
    const commit = lastOf(s, 'commit', leader.id).decoded;
    expect(commit.ok && commit.value.type === 'commit' && commit.value.commit.reason).toBe('timeout');
    expect(s.sim.check()).toEqual([]);
  });

  it('rejects malformed payloads with a code, drops them and keeps working', async () => {
    const s = setup();
    const [a, b] = await meetingOf(2, s);
    if (!a || !b) throw new Error('setup');
    relayAs(b, a.id, 'not json');
    relayAs(b, a.id, '{"t":"keys","v":5}');
    relayAs(b, a.id, '{"t":"gossip","v":5}');
    relayAs(b, a.id, '{"t":"announce","v":9}');
    relayAs(b, a.id, 'x'.repeat(70_000));
    b.agent.onRelay('bad id!', '{}');
    // The same without the link's envelope (the server's own): dropped unread.
    b.agent.onRelay(a.id, '{"t":"keys","v":5}');
    b.agent.onRelay(a.id, `L1.${'A'.repeat(200)}`);
    await s.sim.settle();
    expect(codes(b)).toEqual([
      'MALFORMED',
      'MALFORMED',
      'UNKNOWN_TYPE',
      'UNSUPPORTED_VERSION',
      'TOO_LARGE',
      'MALFORMED',
      'NO_LINK_PROOF',
      'NO_LINK_PROOF',
    ]);
    expect(b.log.errors[0]).toMatchObject({ from: a.id });
    b.log.errors.length = 0;
    await s.sim.join();
    await s.sim.settle();
    expect(s.sim.check()).toEqual([]);
  });

  it('does not believe a roster from anyone but the leader the verified roster names', async () => {
    const s = setup();
    const [a, b, c] = await meetingOf(3, s);
    if (!a || !b || !c) throw new Error('setup');
    const head = lastRoster(s);
    const headHash = rosterHash(head);
    // Bob (a member, or the server holding Bob's key) claims leadership while Alice is present.
    const members = [b, a, c].map((p) => memberFromAnnouncement(p.agent.ownAnnouncement));
    const forged = createRoster(
      { meetingId: head.meetingId, instanceId: head.instanceId, epoch: head.epoch + 1, prevHash: headHash, members },
      b.identity,
    );
    const before = c.agent.currentEpoch;
    relayAs(c, b.id, encodeMessage({ type: 'roster', roster: forged.roster }));
    // The server relaying the same roster as if it came from the leader does not help.
    relayAs(c, a.id, encodeMessage({ type: 'roster', roster: forged.roster }));
    // Nor does a key message Bob signs for that epoch.
    const keys = createKeysMessage({
      roster: forged,
      epochKey: systemRandom(32),
      recipients: [{ participantId: c.id, dhKey: c.agent.ownAnnouncement.dhKey, echo: c.agent.ownAnnouncement.nonce }],
      identity: b.identity,
      random: systemRandom,
    });
    relayAs(c, b.id, encodeMessage({ type: 'keys', keys }));
    await s.sim.settle();
    expect(codes(c)).toEqual(['NOT_LEADER', 'NOT_LEADER', 'UNKNOWN_EPOCH']);
    expect(c.agent.currentEpoch).toBe(before);
    expect(c.log.received.has(head.epoch + 1)).toBe(false);
  });

  it('rejects replayed key messages and commits', async () => {
    const s = setup();
    const [a, b] = await meetingOf(3, s);
    if (!a || !b) throw new Error('setup');
    const oldKeys = lastOf(s, 'keys', a.id).payload;
    const oldCommit = lastOf(s, 'commit', a.id).payload;
    await s.sim.join();
    await s.sim.settle();
    const epoch = b.agent.currentEpoch;
    relayAs(b, a.id, oldKeys);
    relayAs(b, a.id, oldCommit);
    await s.sim.settle();
    expect(codes(b)).toEqual(['STALE_EPOCH', 'STALE_EPOCH']);
    expect(b.agent.currentEpoch).toBe(epoch);
  });

  it('keys a newcomer only from a later epoch and cuts a leaver off', async () => {
    const s = setup();
    const [a, b, c] = await meetingOf(3, s);
    if (!a || !b || !c) throw new Error('setup');
    const beforeJoin = a.agent.currentEpoch;
    const d = await s.sim.join();
    await s.sim.settle();
    expect(Math.min(...d.log.received.keys())).toBeGreaterThan(beforeJoin);
    s.sim.leave(b);
    await s.sim.settle();
    expect(a.agent.currentEpoch).toBeGreaterThan(Math.max(...b.log.received.keys(), ...b.log.sent.keys()));
    expect(s.sim.check()).toEqual([]);
  });

  it('starts the epoch for a lone leave at once, and holds a change that follows within the batch window', async () => {
    const s = setup();
    const [a, b, c, d] = await meetingOf(4, s);
    if (!a || !b || !c || !d) throw new Error('setup');
    s.clock.setTimer(() => {}, 10_000);
    await s.sim.settle();
    const sendKeyAt = (epoch: number) => a.log.timeline.find((e) => e.event === 'send-key' && e.epoch === epoch)?.t ?? NaN;
    const first = a.agent.currentEpoch + 1;
    const t0 = s.clock.now();
    s.sim.leave(d);
    // 100 ms later (the first epoch is committed by then: three hops of at most 20 ms) c leaves too.
    s.clock.setTimer(() => s.sim.leave(c), 100);
    await s.sim.settle();
    expect(s.sim.check()).toEqual([]);
    expect(a.agent.currentEpoch).toBe(first + 1);
    // The lone leave pays only the hub's relay hops, no 250 ms batch window…
    expect(sendKeyAt(first) - t0).toBeLessThan(100);
    // …and the next change waits until a window has passed since that epoch began.
    expect(sendKeyAt(first + 1) - t0).toBeGreaterThanOrEqual(TIMING.batchMs);
  });

  it('fails over to the next in join order when the leader leaves', async () => {
    const s = setup();
    const [a, b, c] = await meetingOf(3, s);
    if (!a || !b || !c) throw new Error('setup');
    s.sim.leave(a);
    await s.sim.settle();
    expect(s.sim.check()).toEqual([]);
    expect(c.log.roster?.members.map((m) => [m.participantId, m.isLeader])).toEqual([
      [b.id, true],
      [c.id, false],
    ]);
  });

  it('follows a server that falsely says the leader left: the group can only shrink, and the split shows', async () => {
    const s = setup();
    const [a, b, c] = await meetingOf(3, s);
    if (!a || !b || !c) throw new Error('setup');
    c.agent.onPeerLeft(a.id); // told to Carol only
    await s.sim.settle();
    const d = await s.sim.join();
    await s.sim.settle();
    // Alice keeps leading Alice, Bob and Dave. Carol waits for Bob, who was not told and sends
    // nothing, passes him over too (§5) and leads a group without them: she gets no new key from Alice.
    expect(codes(c)).toContain('LEADER_PASSED_OVER');
    const carolSees = c.log.roster?.members.map((m) => m.participantId) ?? [];
    expect(carolSees[0]).toBe(c.id);
    expect(carolSees).not.toContain(a.id);
    expect(carolSees).not.toContain(b.id);
    expect(d.log.roster?.members.map((m) => m.participantId)).toContain(c.id);
    expect(c.log.roster?.securityCode).not.toBe(a.log.roster?.securityCode);
  });

  it('tells a member it was removed when the leader drops it (server lied to the leader)', async () => {
    const s = setup();
    const [a, b, c] = await meetingOf(3, s);
    if (!a || !b || !c) throw new Error('setup');
    a.agent.onPeerLeft(c.id);
    await s.sim.settle();
    expect(c.log.state).toBe('removed');
    expect(c.log.received.has(a.agent.currentEpoch)).toBe(false);
    expect(b.log.roster?.members.map((m) => m.participantId)).toEqual([a.id, b.id]);
  });

  it('starts a new chain when the leader left before keying us and nobody else can', async () => {
    const s = setup();
    const [a] = await meetingOf(1, s);
    if (!a) throw new Error('setup');
    const b = await s.sim.join();
    s.sim.leave(a); // before Alice could add Bob
    await s.sim.settle();
    expect(b.log.state).toBe('ok');
    expect(b.log.roster?.members.map((m) => m.participantId)).toEqual([b.id]);
    await s.sim.join();
    await s.sim.settle();
    expect(s.sim.check()).toEqual([]);
  });

  it('shows a listener the server adds in the roster and changes the security code', async () => {
    const s = setup();
    const [a] = await meetingOf(2, s);
    const code = a?.log.roster?.securityCode;
    const ghost = await s.sim.join(); // the server runs its own participant: it must announce to get keys
    await s.sim.settle();
    expect(a?.log.roster?.members.map((m) => m.participantId)).toContain(ghost.id);
    expect(a?.log.roster?.securityCode).not.toBe(code);
  });

  it('fragments rosters and key messages larger than one relay payload', async () => {
    const s = setup({ maxPayloadChars: 2048 });
    for (let i = 0; i < 4; i++) {
      await Promise.all([s.sim.join(), s.sim.join(), s.sim.join()]);
      await s.sim.settle();
      expect(s.sim.check()).toEqual([]);
    }
    expect(s.hub.violations).toEqual([]);
    expect(s.traffic.some((t) => t.payload.includes('"t":"frag"'))).toBe(true);
    expect(s.sim.members).toHaveLength(12);
  });
});
