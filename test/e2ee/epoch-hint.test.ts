// Issue #12, finding 10: the epoch a new chain starts from must come only from
// rosters we verified. A forged message with epoch 2^48 - 1 used to pin a new
// chain at the last epoch, after which every rotation was refused in silence.
// At the real limit the leader now says so (EPOCH_EXHAUSTED) instead.

import { beforeAll, describe, expect, it } from 'vitest';
import { LIMITS, TIMING } from '../../shared/e2ee/constants.ts';
import { generateIdentity } from '../../shared/e2ee/identity.ts';
import { createKeysMessage } from '../../shared/e2ee/key-message.ts';
import * as leader from '../../shared/e2ee/leader.ts';
import type { LeaderContext } from '../../shared/e2ee/leader.ts';
import { initCrypto, systemRandom } from '../../shared/e2ee/primitives.ts';
import { createRoster, memberFromAnnouncement, type Roster } from '../../shared/e2ee/roster.ts';
import { CTX, participant, rosterOf } from './fixtures.ts';
import { advance, codes, harness, inject, wait } from './harness.ts';

beforeAll(initCrypto);

const MAX = LIMITS.maxEpoch;

describe('the epoch a new chain starts from', () => {
  it('ignores a forged roster and key message at epoch 2^48 - 1: the next honest rotations go through', async () => {
    const h = harness({ seed: 10 });
    // Someone the server lists who never keys anyone, so the newcomer ends up starting its own chain.
    const silent = await h.hub.join('harness', { onPeerJoined() {}, onPeerLeft() {}, onRelay() {} });
    const xavier = await h.sim.join({ name: 'Xavier' });
    await advance(h, 500);
    expect(xavier.log.state).toBe('waiting-for-key');

    // The server forges a roster (listing Xavier, so it is not ignored outright) and a key message at the last epoch.
    const { meetingId, instanceId, participantId: silentId } = silent.info;
    const nobody = generateIdentity();
    const fake = { ...memberFromAnnouncement(xavier.agent.ownAnnouncement), participantId: silentId };
    const members = [fake, memberFromAnnouncement(xavier.agent.ownAnnouncement)];
    const forged: Roster = createRoster({ meetingId, instanceId, epoch: MAX, prevHash: new Uint8Array(32), members }, nobody).roster;
    inject(xavier, silentId, { type: 'roster', roster: forged });
    const keys = createKeysMessage({
      roster: { roster: forged, hash: new Uint8Array(32) },
      epochKey: systemRandom(32),
      recipients: [{ participantId: xavier.id, dhKey: xavier.agent.ownAnnouncement.dhKey, echo: xavier.agent.ownAnnouncement.nonce }],
      identity: nobody,
      random: systemRandom,
    });
    inject(xavier, silentId, { type: 'keys', keys });
    await advance(h, 500);
    expect(codes(xavier)).toEqual(['BAD_SIGNATURE']);
    xavier.log.errors.length = 0;

    // Nothing but that from the silent participant: Xavier starts a chain of its own after
    // silentAheadMs (protocol.md §5), from epoch 1; then the silent one leaves.
    await advance(h, TIMING.silentAheadMs);
    // (Leading alone, it checks the forged roster again as one to yield to: refused again.)
    expect(codes(xavier)).toEqual(['SILENT_AHEAD', 'BAD_SIGNATURE']);
    xavier.log.errors.length = 0;
    silent.leave();
    await h.sim.settle();
    await wait(h, TIMING.orphanTimeoutMs + 1000);
    expect(xavier.log.state).toBe('ok');
    expect(xavier.agent.currentEpoch).toBe(1);

    // Rotations on joins and leaves work as usual.
    const yvonne = await h.sim.join({ name: 'Yvonne' });
    await h.sim.settle();
    await h.sim.join({ name: 'Zoe' });
    await h.sim.settle();
    expect(h.sim.check()).toEqual([]);
    h.sim.leave(yvonne);
    await h.sim.settle();
    expect(h.sim.check()).toEqual([]);
    expect(xavier.agent.currentEpoch).toBe(4);
  });
});

describe('a chain at the last epoch', () => {
  it('reports EPOCH_EXHAUSTED on every change instead of refusing in silence, and leaves the leader as it was', () => {
    const alice = participant('alice');
    const bob = participant('bob');
    const head = rosterOf([alice], MAX);
    const present = new Set(['alice', 'bob']);
    const ctx: LeaderContext = {
      ...CTX,
      selfId: 'alice',
      self: alice.announcement,
      identity: alice.identity,
      random: systemRandom,
      timing: { batchMs: TIMING.batchMs, commitTimeoutMs: TIMING.commitTimeoutMs, resendMinIntervalMs: TIMING.resendMinIntervalMs },
      head,
      candidates: new Map([['bob', bob.announcement]]),
      isPresent: (id) => present.has(id),
      excluded: new Set(),
      departed: new Set(),
      echoes: new Map(),
      epochHint: MAX,
      dhKeyFor: () => undefined,
      rosterAt: () => undefined,
      exportSecret: () => {},
    };
    const armed = leader.markDirty(leader.initialState(head), ctx, 1000);
    const step = leader.flush(armed.state, ctx, 1000);
    expect(step.out).toEqual([
      { type: 'disarm', timer: 'flush' },
      { type: 'error', code: 'EPOCH_EXHAUSTED', message: expect.any(String) },
    ]);
    // Nothing adopted, installed or sent; still dirty, so the next change says it again.
    expect(step.state).toEqual({ ...armed.state, flushAt: null });
    const again = leader.flush(leader.markDirty(step.state, ctx, 2000).state, ctx, 2000);
    expect(again.out.map((o) => o.type)).toEqual(['disarm', 'error']);
  });
});
