// Controls for the fault tests' invariant checks (harness/fault-invariants.ts):
// each check must catch the failure it exists for. Real encoder output,
// SFrame-encrypted as the browser does, written as a tap recording.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTapFrames, sframeNonceReuse, tilesClaimingEncryption } from '../../harness/fault-invariants.ts';
import {
  encodeSources,
  encryptMic,
  encryptSender,
  fixedKey,
  ordinarySignaling,
  packetise,
  removeTempDirs,
  tempDir,
  writeTap,
  type FixtureCodec,
  type SourceFrame,
  type Sources,
} from '../audit/fixtures.ts';
import { makeKid } from '../../shared/e2ee/kid.ts';

afterAll(removeTempDirs);

const ALICE = [{ kid: (1n << 16n) | 0n, baseKey: fixedKey(1) }];
let sources: Sources;
let camera: SourceFrame[];
let mic: SourceFrame[];

beforeAll(async () => {
  sources = encodeSources(tempDir('src'));
  [camera, mic] = (await encryptSender(
    [
      { codec: 'vp8', frames: sources.vp8 },
      { codec: 'opus', frames: sources.opus },
    ],
    ALICE,
  )) as [SourceFrame[], SourceFrame[]];
}, 60_000);

const producer = (producerId: string, codec: FixtureCodec, frames: SourceFrame[], ssrc: number, participantId = 'p-alice') => ({
  producerId,
  participantId,
  participantName: participantId.slice(2),
  codec,
  packetised: packetise(codec, frames, ssrc),
});

describe('the fault tests’ frame checks on a tap recording', () => {
  it('pass encrypted media, also a second instance whose fresh keys count from zero again', () => {
    const root = tempDir('tap');
    writeTap(root, [producer('cam', 'vp8', camera, 1), producer('mic', 'opus', mic, 2)], ordinarySignaling(), 'm', 'i1');
    writeTap(root, [producer('cam2', 'vp8', camera, 3)], ordinarySignaling(), 'm', 'i2');
    const check = checkTapFrames(root);
    expect(check.instances).toBe(2);
    expect(check.frames).toBeGreaterThan(50);
    expect(check.problems).toEqual([]);
  });

  it('catch a frame sent in clear', () => {
    const root = tempDir('tap');
    writeTap(root, [producer('cam', 'vp8', sources.vp8, 1), producer('mic', 'opus', mic, 2)], ordinarySignaling());
    expect(checkTapFrames(root).problems.join('\n')).toMatch(/producer cam: \d+ of \d+ frames not SFrame-structured/);
  });

  it('catch a re-published stream whose counter restarted under the same key (nonce reuse)', async () => {
    // What a client that reset its frame worker but kept the keys after a media restart would send.
    const [again] = await encryptSender([{ codec: 'vp8', frames: sources.vp8 }], ALICE);
    const root = tempDir('tap');
    writeTap(root, [producer('cam', 'vp8', camera, 1), producer('cam-after-restart', 'vp8', again!, 3)], ordinarySignaling());
    expect(checkTapFrames(root).problems.join('\n')).toMatch(/in producers cam and cam-after-restart/);
  });

  it('accept a retransmitted frame but not a different one under the same (KID, CTR)', () => {
    const f = { kid: 5n, ctr: 9n, bytes: Uint8Array.of(1, 2, 3) };
    expect(sframeNonceReuse([{ producerId: 'p', participantId: 'a', frames: [f, { ...f }] }])).toEqual([]);
    expect(sframeNonceReuse([{ producerId: 'p', participantId: 'a', frames: [f, { ...f, bytes: Uint8Array.of(1, 2, 4) }] }])).toEqual([
      'KID 5 CTR 9 twice in producer p with different bytes',
    ]);
  });
});

describe('the fault tests’ tile check', () => {
  const sample = (state: string, decrypted: number, dropped: number) => ({ participantId: 'bob', state, decrypted, dropped });

  it('catches a tile that says encrypted while its frames only fail', () => {
    expect(tilesClaimingEncryption([sample('ok', 100, 0)], [sample('ok', 100, 40)])).toEqual([
      'tile of bob says encrypted: 40 frames dropped, none decrypted',
    ]);
  });

  it('accepts a failing tile that says so, a healthy one, and a glitch while decoding goes on', () => {
    expect(tilesClaimingEncryption([sample('failing', 100, 0)], [sample('failing', 100, 40)])).toEqual([]);
    expect(tilesClaimingEncryption([sample('ok', 100, 0)], [sample('ok', 160, 0)])).toEqual([]);
    expect(tilesClaimingEncryption([sample('ok', 100, 0)], [sample('ok', 160, 12)])).toEqual([]);
  });

  describe('with microphones in the compact-KID audio format (every sender uses KIDs 0-7)', () => {
    // Epochs 1 and 2 of two senders: both send under compact KIDs 1 then 2, counting from 0 alike.
    const keysOf = (index: number) => [1, 2].map((epoch) => ({ kid: makeKid(epoch, index), baseKey: fixedKey(10 * epoch + index, 32) }));

    it('pass two senders whose compact KIDs and counters coincide: the KID names a key only with its sender', async () => {
      const [alice, bob] = await Promise.all([encryptMic(sources.opus, keysOf(0)), encryptMic(sources.opus, keysOf(1))]);
      const root = tempDir('tap');
      writeTap(root, [producer('mic-a', 'opus', alice, 2), producer('mic-b', 'opus', bob, 4, 'p-bob')], ordinarySignaling());
      const check = checkTapFrames(root);
      expect(check.frames).toBeGreaterThan(50);
      expect(check.problems).toEqual([]);
    });

    it('catch one sender re-publishing its microphone with the counter restarted under the same key', async () => {
      const [first, again] = await Promise.all([encryptMic(sources.opus, keysOf(0)), encryptMic(sources.opus, keysOf(0))]);
      const root = tempDir('tap');
      writeTap(root, [producer('mic', 'opus', first, 2), producer('mic-again', 'opus', again, 4)], ordinarySignaling());
      expect(checkTapFrames(root).problems.join('\n')).toMatch(/KID 1 CTR 0 in producers mic and mic-again/);
    });
  });
});
