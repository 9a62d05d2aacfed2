// The check a consume answer passes before it reaches the receive
// PeerConnection (client/src/media/sfu-session.ts): a stream of the wrong kind
// there fails in setRemoteDescription and stays in the SDP, so every later
// consume fails too. The browser test (test/attacks/relabel.test.ts,
// relabel-kind) shows the whole effect; this is the rule itself.

import { describe, expect, it } from 'vitest';
import { consumeMismatch } from '../../client/src/media/sfu-session.ts';
import type { ProducerInfo } from '../../shared/protocol/signaling.ts';

const mic: ProducerInfo = { participantId: 'alice', producerId: 'p1', kind: 'audio', source: 'mic', paused: false };
const camera: ProducerInfo = { participantId: 'alice', producerId: 'p2', kind: 'video', source: 'camera', paused: false };
const opus = { codecs: [{ mimeType: 'audio/opus' }] };
const vp8 = { codecs: [{ mimeType: 'video/VP8' }, { mimeType: 'video/rtx' }] };

describe('consume answers', () => {
  it('accepts an answer that matches its announcement and carries codecs of its kind', () => {
    expect(consumeMismatch(mic, { ...mic, rtpParameters: opus })).toBeUndefined();
    expect(consumeMismatch(camera, { ...camera, rtpParameters: vp8 })).toBeUndefined();
  });

  it.each([
    ['a microphone said to be video', mic, { ...mic, kind: 'video', rtpParameters: opus }, /a mic must be audio/],
    [
      'a microphone announced as a screen share (video with Opus)',
      { ...mic, source: 'screen' as const },
      { ...mic, source: 'screen', kind: 'video', rtpParameters: opus },
      /cannot carry audio\/opus/,
    ],
    ['a camera said to be audio', camera, { ...camera, kind: 'audio', rtpParameters: vp8 }, /a camera must be video/],
    [
      'a camera announced as a microphone (audio with VP8)',
      { ...camera, source: 'mic' as const, kind: 'audio' as const },
      { ...camera, source: 'mic', kind: 'audio', rtpParameters: vp8 },
      /cannot carry video\/vp8/,
    ],
    ['an answer for another producer', mic, { ...mic, producerId: 'p9', rtpParameters: opus }, /not p1/],
    ['an answer naming another participant', mic, { ...mic, participantId: 'bob', rtpParameters: opus }, /answered as bob's mic/],
    ['an answer naming another source', camera, { ...camera, source: 'screen', rtpParameters: vp8 }, /answered as alice's screen/],
    ['an answer without codecs', camera, { ...camera, rtpParameters: { codecs: [] } }, /no codecs/],
  ])('refuses %s', (_what, announced, answer, why) => {
    expect(consumeMismatch(announced, answer)).toMatch(why);
  });
});
