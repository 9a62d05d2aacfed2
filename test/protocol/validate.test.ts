import { describe, expect, it } from 'vitest';
import { LIMITS, PROTOCOL_VERSION } from '../../shared/protocol/signaling.ts';
import { parseClientMessage, parseServerMessage } from '../../shared/protocol/validate.ts';

const UUID = '0b7d3f5e-1c2a-4b8e-9f00-123456789abc';
const parse = (o: unknown) => parseClientMessage(JSON.stringify(o));

describe('signaling message validation', () => {
  it('accepts a well-formed join and defaults the mode to meeting', () => {
    const r = parse({ id: 1, type: 'join', v: PROTOCOL_VERSION, meetingId: 'standup-42' });
    expect(r).toEqual({ ok: true, value: { id: 1, type: 'join', v: PROTOCOL_VERSION, meetingId: 'standup-42', mode: 'meeting' } });
  });

  it('keeps no name from an old client that still sends one: the server has no use for names', () => {
    const r = parse({ id: 1, type: 'join', v: PROTOCOL_VERSION, meetingId: 'standup-42', name: 'Ada' });
    expect(r).toEqual({ ok: true, value: { id: 1, type: 'join', v: PROTOCOL_VERSION, meetingId: 'standup-42', mode: 'meeting' } });
    expect(JSON.stringify(r)).not.toContain('Ada');
  });

  it('rejects text that is not JSON with BAD_JSON', () => {
    const r = parseClientMessage('{"id": 1, "type": ');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('BAD_JSON');
  });

  it('rejects a message without a numeric id, and reports no id', () => {
    const r = parse({ id: 'x', type: 'leave' });
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE', id: undefined } });
  });

  it('keeps the id of an otherwise bad message so the reply can be matched', () => {
    expect(parse({ id: 7, type: 'fly' })).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE', id: 7 } });
  });

  it('rejects an unsupported protocol version with its own code', () => {
    expect(parse({ id: 1, type: 'join', v: 99, meetingId: 'm' })).toMatchObject({
      ok: false,
      error: { code: 'UNSUPPORTED_VERSION' },
    });
  });

  it.each([
    ['meeting id with a slash', { meetingId: 'a/b' }],
    ['meeting id too long', { meetingId: 'a'.repeat(65) }],
    ['unknown mode', { meetingId: 'm', mode: 'webinar' }],
  ])('rejects a join with %s', (_label, fields) => {
    expect(parse({ id: 1, type: 'join', v: PROTOCOL_VERSION, ...fields })).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE' } });
  });

  it('rejects ids that are not mediasoup UUIDs', () => {
    expect(parse({ id: 2, type: 'resume-consumer', consumerId: '../../etc' })).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE' } });
    expect(parse({ id: 2, type: 'resume-consumer', consumerId: UUID })).toMatchObject({ ok: true });
  });

  it('rejects produce with an unknown kind or a non-object rtpParameters', () => {
    const base = { id: 3, type: 'produce', transportId: UUID, kind: 'video', source: 'camera', rtpParameters: {} };
    expect(parse(base).ok).toBe(true);
    expect(parse({ ...base, kind: 'smell' }).ok).toBe(false);
    expect(parse({ ...base, rtpParameters: [] }).ok).toBe(false);
    expect(parse({ ...base, rtpParameters: 'x' }).ok).toBe(false);
  });

  it('accepts a relay to everyone or to one participant, and bounds the payload', () => {
    expect(parse({ id: 4, type: 'relay', to: null, payload: 'opaque' }).ok).toBe(true);
    expect(parse({ id: 4, type: 'relay', to: 'p_abc', payload: 'opaque' }).ok).toBe(true);
    expect(parse({ id: 4, type: 'relay', to: 'p abc', payload: 'opaque' }).ok).toBe(false);
    expect(parse({ id: 4, type: 'relay', to: null, payload: '' }).ok).toBe(false);
    expect(parse({ id: 4, type: 'relay', to: null, payload: 'x'.repeat(LIMITS.maxRelayPayload + 1) })).toMatchObject({
      ok: false,
      error: { code: 'TOO_LARGE' },
    });
  });

  it('rejects a message larger than the size limit before parsing it', () => {
    const r = parseClientMessage(' '.repeat(LIMITS.maxMessageBytes + 1));
    expect(r).toMatchObject({ ok: false, error: { code: 'TOO_LARGE' } });
  });

  it('rejects arrays, numbers and null as messages', () => {
    for (const raw of ['[]', '42', 'null', '"join"']) expect(parseClientMessage(raw).ok).toBe(false);
  });
});

describe('fault recovery messages', () => {
  it('accepts an ICE restart request only for a transport id', () => {
    expect(parse({ id: 3, type: 'restart-ice', transportId: UUID })).toMatchObject({
      ok: true,
      value: { type: 'restart-ice', transportId: UUID },
    });
    expect(parse({ id: 3, type: 'restart-ice', transportId: 'x' })).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE', id: 3 } });
    expect(parse({ id: 3, type: 'restart-ice' })).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE' } });
  });

  it('lets the client read the server-restarting notice, and a media restart only with router capabilities', () => {
    expect(parseServerMessage('{"type":"server-restarting"}')).toEqual({ type: 'server-restarting' });
    expect(parseServerMessage('{"type":"media-restart","routerRtpCapabilities":{"codecs":[]}}')).toMatchObject({ type: 'media-restart' });
    expect(parseServerMessage('{"type":"media-restart"}')).toBeUndefined();
    expect(parseServerMessage('{"type":"media-restart","routerRtpCapabilities":[1]}')).toBeUndefined();
  });
});
