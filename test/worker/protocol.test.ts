// The frame worker's message boundary (client/src/e2ee/worker/protocol.ts):
// what the page may send is checked field by field, and nothing else passes.

import { describe, expect, it } from 'vitest';
import { parseOptions, parsePageMessage } from '../../client/src/e2ee/worker/protocol.ts';

const OPTIONS = { operation: 'decrypt', kind: 'video', codec: 'vp8', source: 'camera', participantId: 'p1', transformId: 'r1' };

describe('frame worker messages', () => {
  it('accepts each message the page sends, keeping only its known fields', () => {
    const baseKey = new Uint8Array(16);
    expect(parsePageMessage({ type: 'add-receive-key', kid: 5n, participantId: 'p1', baseKey, extra: 1 })).toEqual({
      type: 'add-receive-key',
      kid: 5n,
      participantId: 'p1',
      baseKey,
    });
    expect(parsePageMessage({ type: 'set-send-key', seq: 3, kid: 5n, baseKey })).toEqual({
      type: 'set-send-key',
      seq: 3,
      kid: 5n,
      baseKey,
    });
    expect(parsePageMessage({ type: 'retire-key', kid: 5n, graceMs: 100 })).toEqual({ type: 'retire-key', kid: 5n, graceMs: 100 });
    expect(parsePageMessage({ type: 'clear-send-key' })).toEqual({ type: 'clear-send-key' });
    const testConfig = { type: 'test-config', plaintext: false, corruptReceiveKeys: true };
    expect(parsePageMessage(testConfig)).toEqual(testConfig);
    const readable = new ReadableStream();
    const writable = new WritableStream();
    const attach = { type: 'attach', options: OPTIONS, readable, writable };
    expect(parsePageMessage(attach)).toEqual(attach);
  });

  it.each([
    ['a removed message (detach)', { type: 'detach', transformId: 'r1' }],
    ['an unknown type', { type: 'ready' }],
    ['a KID that is a number, not a bigint', { type: 'set-send-key', seq: 1, kid: 5, baseKey: new Uint8Array(16) }],
    ['a send key without the seq its answer needs', { type: 'set-send-key', kid: 5n, baseKey: new Uint8Array(16) }],
    ['a base key that is not bytes', { type: 'add-receive-key', kid: 5n, participantId: 'p1', baseKey: [1, 2, 3] }],
    ['a grace period that is not a number', { type: 'retire-key', kid: 5n, graceMs: '100' }],
    ['attach without streams', { type: 'attach', options: OPTIONS }],
    ['not an object', 'set-send-key'],
  ])('refuses %s', (_what, message) => {
    expect(parsePageMessage(message)).toBeUndefined();
  });

  it('refuses transform options with an unknown operation, kind or media source', () => {
    expect(parseOptions(OPTIONS)).toEqual(OPTIONS);
    expect(parseOptions({ ...OPTIONS, operation: 'passthrough' })).toBeUndefined();
    expect(parseOptions({ ...OPTIONS, kind: 'data' })).toBeUndefined();
    expect(parseOptions({ ...OPTIONS, transformId: 7 })).toBeUndefined();
    // The source decides the KID a frame must carry: without one, a stream has nothing to check against.
    expect(parseOptions({ ...OPTIONS, source: undefined })).toBeUndefined();
    expect(parseOptions({ ...OPTIONS, source: 'speaker' })).toBeUndefined();
  });
});
