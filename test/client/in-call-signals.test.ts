// Raise hand and reactions inside chat texts (client/src/e2ee/in-call-signals.ts):
// encoded, recognised, and anything malformed dropped rather than shown.

import { describe, expect, it } from 'vitest';
import { encodeSignal, parseChatText } from '../../client/src/e2ee/in-call-signals.ts';

describe('in-call signals in chat texts', () => {
  it('round-trips a raised hand and each reaction', () => {
    for (const raised of [true, false])
      expect(parseChatText(encodeSignal({ type: 'hand', raised }))).toEqual({ kind: 'signal', signal: { type: 'hand', raised } });
    for (const reaction of ['thumbs-up', 'clap', 'laugh', 'heart', 'surprised'] as const)
      expect(parseChatText(encodeSignal({ type: 'reaction', reaction }))).toEqual({
        kind: 'signal',
        signal: { type: 'reaction', reaction },
      });
  });

  it('leaves ordinary chat alone, including text that mentions the tag', () => {
    expect(parseChatText('bm-signal:{"type":"hand","raised":true}')).toEqual({
      kind: 'text',
      text: 'bm-signal:{"type":"hand","raised":true}',
    });
  });

  it('drops malformed or unknown signals with a reason', () => {
    const mark = encodeSignal({ type: 'hand', raised: true }).split('{')[0]!;
    for (const bad of [
      'not json',
      '"string"',
      'null',
      '{"type":"reaction","reaction":"toString"}',
      '{"type":"hand","raised":"yes"}',
      '{"type":"kick"}',
    ])
      expect(parseChatText(mark + bad).kind).toBe('bad-signal');
  });
});
