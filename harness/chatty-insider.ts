// A participant the server runs that holds the meeting link and keeps talking
// but never keys anyone: every `everyMs` it broadcasts a commit, sealed with the
// link (so it opens) and well-formed (so it is read), whose signature is zeros
// (so every check refuses it). To a newcomer it is someone ahead of it that is
// not silent, so the newcomer keeps waiting for it (protocol.md §5, silent
// participants ahead): the one case left where a key does not come.

import { fromBase64Url } from '../shared/e2ee/encoding.ts';
import { LinkSeal } from '../shared/e2ee/link.ts';
import { initCrypto } from '../shared/e2ee/primitives.ts';
import { encodeMessage } from '../shared/e2ee/wire.ts';
import { linkSecretFor } from './meeting-link.ts';
import type { TestClient } from './ws-client.ts';

export async function keepTalking(
  client: TestClient,
  joined: { meetingId: string; instanceId: string; participantId: string },
  everyMs = 500,
): Promise<() => void> {
  await initCrypto();
  const secret = fromBase64Url(linkSecretFor(joined.meetingId));
  if (!secret) throw new Error('no link secret for this meeting');
  const link = new LinkSeal(secret, joined.meetingId, joined.instanceId);
  const commit = {
    meetingId: joined.meetingId,
    instanceId: joined.instanceId,
    epoch: 1,
    leaderId: joined.participantId,
    rosterHash: new Uint8Array(32),
    reason: 'timeout' as const,
    signature: new Uint8Array(64),
  };
  const payload = encodeMessage({ type: 'commit', commit });
  const timer = setInterval(() => {
    void client.request({ type: 'relay', to: null, payload: link.seal(joined.participantId, payload) });
  }, everyMs);
  return () => clearInterval(timer);
}
