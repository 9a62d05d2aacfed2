// Chat messages the server drops are noticed: each sender numbers its messages
// (signed), and a receiver that sees a number skipped says how many of that
// sender's messages it missed (issue #12, finding 13).

import { beforeAll, describe, expect, it } from 'vitest';
import { initCrypto, type ChatGapEvent } from '../../shared/e2ee/index.ts';
import { decodeMessage, encodeMessage } from '../../shared/e2ee/wire.ts';
import { codes, harness, inject, lastRelayed, meeting, type Harness } from './harness.ts';
import type { SimParticipant } from '../../harness/sim.ts';

beforeAll(initCrypto);

/** Records every chat-gap event, without its local time. */
function gapsOf(p: SimParticipant): Omit<ChatGapEvent, 'at'>[] {
  const gaps: Omit<ChatGapEvent, 'at'>[] = [];
  p.agent.on('chat-gap', ({ at: _at, ...gap }) => gaps.push(gap));
  return gaps;
}

/** While `fn` runs, the server drops every chat message from `from` to `to`. */
function dropChat(h: Harness, from: SimParticipant, to: SimParticipant, fn: () => void): void {
  h.drop = (f, t, payload) => f === from.id && t === to.id && payload.includes('"t":"chat"');
  fn();
  h.drop = () => false;
}

describe('chat messages the server drops', () => {
  it('are reported once to the receiver that missed them, with the sender and how many', async () => {
    const h = harness();
    const [a, b, c] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    if (!a || !b || !c) throw new Error('setup');
    const [bobGaps, carolGaps] = [gapsOf(b), gapsOf(c)];
    const epoch = a.agent.currentEpoch;
    a.agent.sendChat('one');
    dropChat(h, a, b, () => {
      a.agent.sendChat('two');
      a.agent.sendChat('three');
    });
    a.agent.sendChat('four');
    await h.sim.settle();
    expect(bobGaps).toEqual([{ from: a.id, count: 2, epoch, seq: 4 }]);
    expect(b.log.chats.map((m) => m.text)).toEqual(['one', 'four']);
    // Carol got everything: nothing to report.
    expect(carolGaps).toEqual([]);
    expect(c.log.chats.map((m) => m.text)).toEqual(['one', 'two', 'three', 'four']);
    expect(codes(b)).toEqual([]);
  });

  it('are counted across an epoch change: a sender numbers its messages for as long as it is connected', async () => {
    const h = harness();
    const [a, b] = await meeting(h, ['Alice', 'Bob']);
    if (!a || !b) throw new Error('setup');
    const gaps = gapsOf(b);
    a.agent.sendChat('before');
    dropChat(h, a, b, () => a.agent.sendChat('lost'));
    await h.sim.settle();
    await h.sim.join({ name: 'Dan' }); // a new epoch
    await h.sim.settle();
    a.agent.sendChat('after');
    await h.sim.settle();
    expect(gaps).toEqual([{ from: a.id, count: 1, epoch: a.agent.currentEpoch, seq: 3 }]);
  });

  it('are not reported when nothing was dropped, across epoch changes and senders', async () => {
    const h = harness();
    const [a, b, c] = await meeting(h, ['Alice', 'Bob', 'Carol']);
    if (!a || !b || !c) throw new Error('setup');
    const gaps = [a, b, c].map(gapsOf);
    for (const p of [a, b, c]) p.agent.sendChat(`hello from ${p.name}`);
    await h.sim.settle();
    await h.sim.join({ name: 'Dan' });
    await h.sim.settle();
    for (const p of [a, b, c, a]) p.agent.sendChat(`again from ${p.name}`);
    await h.sim.settle();
    expect(gaps).toEqual([[], [], []]);
    expect(c.log.chats.filter((m) => !m.own)).toHaveLength(5);
  });

  it('are not reported to a newcomer for what a sender said before it joined, nor for a newcomer’s first message', async () => {
    const h = harness();
    const [a, b] = await meeting(h, ['Alice', 'Bob']);
    if (!a || !b) throw new Error('setup');
    for (const text of ['one', 'two', 'three']) a.agent.sendChat(text);
    await h.sim.settle();
    const n = await h.sim.join({ name: 'Nina' });
    const ninaGaps = gapsOf(n);
    const [aliceGaps, bobGaps] = [gapsOf(a), gapsOf(b)];
    await h.sim.settle();
    expect(a.agent.sendChat('welcome, Nina')).toMatchObject({ ok: true, value: { seq: 4 } });
    await h.sim.settle();
    n.agent.sendChat('thanks');
    await h.sim.settle();
    expect(n.log.chats.map((m) => [m.text, m.seq])).toEqual([
      ['welcome, Nina', 4],
      ['thanks', 1],
    ]);
    expect(b.log.chats.at(-1)).toMatchObject({ from: n.id, text: 'thanks', seq: 1 });
    expect([ninaGaps, aliceGaps, bobGaps]).toEqual([[], [], []]);
  });

  it('cannot be faked by the server: a renumbered message fails its signature and moves nothing', async () => {
    const h = harness();
    const [a, b] = await meeting(h, ['Alice', 'Bob']);
    if (!a || !b) throw new Error('setup');
    const gaps = gapsOf(b);
    a.agent.sendChat('one');
    await h.sim.settle();
    const { message } = lastRelayed(h, 'chat', a.id);
    inject(b, a.id, encodeMessage({ type: 'chat', chat: { ...message.chat, seq: 1000 } }));
    a.agent.sendChat('two');
    await h.sim.settle();
    expect(codes(b)).toEqual(['CHAT_BAD_SIGNATURE']);
    expect(b.log.chats.map((m) => m.text)).toEqual(['one', 'two']);
    expect(gaps).toEqual([]);
    // The relayed bytes decode to the sequence number the sender signed.
    expect(decodeMessage(lastRelayed(h, 'chat', a.id).relayed.plain)).toMatchObject({ ok: true, value: { chat: { seq: 2 } } });
  });
});
