import { beforeAll, describe, expect, it } from 'vitest';
import { initCrypto } from '../../shared/e2ee/primitives.ts';
import { fromBase64Url, toBase64Url } from '../../shared/e2ee/encoding.ts';
import type { SimParticipant } from '../../harness/sim.ts';
import { codes, harness, inject, lastRelayed, meeting, rosterIds, wait, type Harness } from './harness.ts';

beforeAll(initCrypto);

const code = (p: SimParticipant) => p.log.roster?.securityCode;
const epochOf = (p: SimParticipant) => p.agent.currentEpoch;
/** Every frame key a participant ever held (base64url). */
const held = (p: SimParticipant) => [
  ...[...p.log.received.values()].flatMap((m) => [...m.values()].map((k) => toBase64Url(k))),
  ...[...p.log.sent.values()].map((k) => toBase64Url(k.baseKey)),
];

/** Alice leads Bob and Carol; Alice issues a new link. */
async function replaced(seed: number): Promise<{ h: Harness; a: SimParticipant; b: SimParticipant; c: SimParticipant; before: number }> {
  const h = harness({ seed });
  const [a, b, c] = (await meeting(h, ['Alice', 'Bob', 'Carol'])) as [SimParticipant, SimParticipant, SimParticipant];
  await wait(h, 3_000);
  const before = epochOf(a);
  expect(a.agent.issueNewLink()).toEqual({ ok: true, value: undefined });
  await wait(h, 5_000);
  return { h, a, b, c, before };
}

describe('the leader issues a new link', () => {
  it('members take it with the next epoch, and only the leader can issue one', async () => {
    const { a, b, c, before } = await replaced(61);
    expect(b.agent.issueNewLink()).toMatchObject({ ok: false, error: { code: 'NOT_LEADER' } });
    const secret = a.log.links[0];
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const p of [a, b, c]) {
      expect(p.log.links).toEqual([secret]);
      expect(epochOf(p)).toBeGreaterThan(before);
      expect(p.log.state).toBe('ok');
      expect(rosterIds(p)).toEqual([a.id, b.id, c.id]);
      expect(code(p)).toBe(code(a));
    }
  });

  it('from then on the old link admits nobody new, and the new one does', async () => {
    const { h, a, b, c } = await replaced(62);
    const eve = await h.sim.join({ name: 'Eve (old link)', linkSecret: h.sim.linkSecret });
    await h.sim.settle();
    await wait(h, 15_000);
    // Eve holds the link that leaked: nobody keys her, everyone sees her outside the meeting.
    const meetingKeys = new Set([...held(a), ...held(b), ...held(c)]);
    expect(held(eve).filter((k) => meetingKeys.has(k))).toEqual([]);
    expect(rosterIds(eve)).not.toContain(a.id);
    for (const p of [a, b, c]) {
      expect(rosterIds(p)).toEqual([a.id, b.id, c.id]);
      expect(p.log.outsiders).toContain(eve.id);
      expect(codes(p)).toContain('LINK_RETIRED');
    }
    const fay = await h.sim.join({ name: 'Fay (new link)', linkSecret: fromBase64Url(a.log.links[0]!)! });
    await h.sim.settle();
    await wait(h, 5_000);
    expect(rosterIds(a)).toEqual([a.id, b.id, c.id, fay.id]);
    expect(fay.log.state).toBe('ok');
    expect(code(fay)).toBe(code(a));
    // Chat still reaches everyone under the new link.
    expect(b.agent.sendChat('new link works').ok).toBe(true);
    await wait(h, 1_000);
    for (const p of [a, c, fay]) expect(p.log.chats.map((m) => m.text)).toContain('new link works');
  });

  it('a member the server kept the new link from keeps talking on the old one and is sent it again', async () => {
    const h = harness({ seed: 63 });
    const [a, b, c] = (await meeting(h, ['Alice', 'Bob', 'Carol'])) as [SimParticipant, SimParticipant, SimParticipant];
    await wait(h, 3_000);
    let dropped = 0;
    h.drop = (_from, to, plain) => to === c.id && plain.includes('"t":"link"') && dropped++ < 1;
    a.agent.issueNewLink();
    await wait(h, 5_000);
    expect(dropped).toBe(1);
    expect(c.log.links).toEqual([]);
    // Carol is still on the old link. What she sends is accepted (she was a member when it was
    // replaced) and tells the leader to send her the new link again.
    expect(c.agent.sendChat('am I still here?').ok).toBe(true);
    await wait(h, 3_000);
    expect(b.log.chats.map((m) => m.text)).toContain('am I still here?');
    expect(c.log.links).toEqual(a.log.links);
    expect(b.agent.sendChat('welcome back').ok).toBe(true);
    await wait(h, 1_000);
    expect(c.log.chats.map((m) => m.text)).toContain('welcome back');
  });

  it('refuses a new link that its epoch’s leader did not sign, or that was tampered with', async () => {
    let holding = true;
    const h = harness({ seed: 64 });
    const [a, b, c] = (await meeting(h, ['Alice', 'Bob', 'Carol'])) as [SimParticipant, SimParticipant, SimParticipant];
    await wait(h, 3_000);
    h.drop = (_from, to, plain) => holding && to === b.id && plain.includes('"t":"link"');
    a.agent.issueNewLink();
    await wait(h, 5_000);
    expect(b.log.links).toEqual([]);
    const { message } = lastRelayed(h, 'link', a.id);
    const u = message.link;
    const flipped = u.box.slice();
    flipped[30]! ^= 1;
    inject(b, a.id, { type: 'link', link: { ...u, box: flipped } });
    inject(b, c.id, { type: 'link', link: u });
    inject(b, c.id, { type: 'link', link: { ...u, leaderId: c.id } });
    await wait(h, 500);
    expect(codes(b)).toEqual(expect.arrayContaining(['BAD_SIGNATURE', 'NOT_LEADER']));
    expect(b.log.links).toEqual([]);
    holding = false;
    inject(b, a.id, { type: 'link', link: u });
    await wait(h, 500);
    expect(b.log.links).toEqual(a.log.links);
    expect(toBase64Url(fromBase64Url(b.log.links[0]!)!)).toBe(a.log.links[0]);
  });
});
