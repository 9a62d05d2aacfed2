import { describe, expect, it } from 'vitest';
import { checkStructure, viewFrame } from '../../scripts/audit/sframe-structure.ts';
import { encodeHeader, REPLAY_WINDOW, SFrameKeyStore } from '../../shared/sframe/index.ts';
import { SeededBytes } from '../../scripts/audit/rng.ts';

const OPUS_TOC = 0x78;

/** Opus-shaped frames [TOC][header][32 body bytes]. */
function framesWith(headers: Array<[bigint, bigint]>, bodySeed = 'b'): Uint8Array[] {
  const rng = new SeededBytes(bodySeed);
  return headers.map(([kid, ctr]) => {
    const h = encodeHeader(kid, ctr);
    if (!h.ok) throw new Error(h.error.message);
    return Uint8Array.from([OPUS_TOC, ...h.value, ...rng.next(32)]);
  });
}

function check(frames: Uint8Array[], codec = 'opus') {
  const views = frames.map((f) => viewFrame(codec, f));
  const kids = new Map<bigint, number>();
  for (const v of views) if (v.kid !== undefined && !v.issue) kids.set(v.kid, (kids.get(v.kid) ?? 0) + 1);
  return checkStructure({ frames: frames.map((data, index) => ({ index, data })), views, senderKidFrames: kids });
}

describe('SFrame structure of a stream', () => {
  it('accepts frames the key store encrypted, across a key change', async () => {
    const store = new SFrameKeyStore();
    const frames: Uint8Array[] = [];
    for (const [kid, n] of [
      [0x10003n, 20],
      [0x20003n, 20],
    ] as const) {
      await store.setSendKey(kid, new Uint8Array(16).fill(Number(kid & 0xffn)));
      for (let i = 0; i < n; i++) {
        const r = await store.encrypt(
          'vp8',
          Uint8Array.from({ length: 200 }, (_, j) => (j === 0 ? (i % 10 === 0 ? 0x10 : 0x11) : j & 0xff)),
        );
        if (!r.ok) throw new Error(r.error.message);
        frames.push(r.value.data);
      }
    }
    const { summary } = check(frames, 'vp8');
    expect(summary).toMatchObject({ frames: 40, consistent: 40, consistentFraction: 1, distinctKids: 2, kidSwitches: 1 });
    expect(summary.kids).toEqual([
      { kid: '0x10003', frames: 20, firstCtr: '0', lastCtr: '19' },
      { kid: '0x20003', frames: 20, firstCtr: '0', lastCtr: '19' }, // counters are per KID
    ]);
  });

  it('finds almost nothing SFrame-like in random bytes, though single headers often decode', () => {
    const rng = new SeededBytes('plain');
    const frames = Array.from({ length: 1000 }, () => Uint8Array.from([OPUS_TOC, ...rng.next(80)]));
    const { summary } = check(frames);
    expect(summary.parsed).toBeGreaterThan(700);
    // Only the first few frames of each small KID can look like a rising counter.
    expect(summary.consistentFraction).toBeLessThan(0.1);
    expect(summary.distinctKids).toBeGreaterThan(50);
  });

  it('flags a counter overtaken by many frames, even within the replay window', () => {
    const kid = 0x10001n;
    const ctrs = Array.from({ length: 30 }, (_, i) => [kid, BigInt(100 + 2 * i)] as [bigint, bigint]);
    const { verdicts } = check(framesWith([...ctrs, [kid, 103n]]));
    expect(verdicts[30]!.issue).toBe('CTR_REGRESSION');
  });

  it('tolerates small reordering but flags counters far behind the newest', () => {
    const kid = 0x10001n;
    const { summary, verdicts } = check(
      framesWith([
        [kid, 5000n],
        [kid, 5002n],
        [kid, 5001n],
        [kid, 5003n],
        [kid, 5003n - BigInt(REPLAY_WINDOW) - 1n],
      ]),
    );
    expect(summary.reordered).toBe(1);
    expect(verdicts.map((v) => v.issue ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok', 'CTR_REGRESSION']);
  });

  it('flags a (KID, CTR) reused for different bytes, but not a repeated frame', () => {
    const kid = 0x10001n;
    const frames = framesWith([
      [kid, 1n],
      [kid, 2n],
    ]);
    const reuse = framesWith([[kid, 2n]], 'other')[0]!;
    const { summary, verdicts } = check([...frames, frames[1]!, reuse]);
    expect(verdicts.map((v) => v.issue ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'CTR_REUSED']);
    expect(summary.duplicates).toBe(1);
  });

  it('does not trust a KID only one frame carries in the middle of the stream', () => {
    const { verdicts } = check(
      framesWith([
        [0x10001n, 1n],
        [0x999999n, 3n],
        [0x10001n, 2n],
      ]),
    );
    expect(verdicts.map((v) => v.issue ?? 'ok')).toEqual(['ok', 'KID_UNESTABLISHED', 'ok']);
  });

  it('accepts one fresh key at each edge of the capture (rotation just after it began, just before it ended)', () => {
    const { summary, verdicts } = check(
      framesWith([
        [0x10000n, 0n],
        [0x20001n, 5n],
        [0x20001n, 6n],
        [0x30001n, 1n],
      ]),
    );
    expect(verdicts.map((v) => v.issue ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(summary.edgeKeyFrames).toBe(2);
  });

  it('does not accept at an edge a single-frame KID with an old counter, or several unestablished KIDs', () => {
    const oldCtr = check(
      framesWith([
        [0x20001n, 5n],
        [0x20001n, 6n],
        [0x30001n, 900n],
      ]),
    );
    expect(oldCtr.verdicts.map((v) => v.issue ?? 'ok')).toEqual(['ok', 'ok', 'KID_UNESTABLISHED']);
    const twoKids = check(
      framesWith([
        [0x20001n, 5n],
        [0x20001n, 6n],
        [0x30001n, 0n],
        [0x40001n, 1n],
      ]),
    );
    expect(twoKids.verdicts.map((v) => v.issue ?? 'ok')).toEqual(['ok', 'ok', 'KID_UNESTABLISHED', 'KID_UNESTABLISHED']);
    expect(twoKids.summary.edgeKeyFrames).toBe(0);
  });

  it('needs room for the tag and for the codec clear bytes', () => {
    expect(viewFrame('opus', Uint8Array.of(OPUS_TOC, 0x00, 1, 2, 3)).issue).toBe('NO_ROOM_FOR_TAG');
    expect(viewFrame('vp8', Uint8Array.of(0x10, 1, 2)).issue).toBe('FRAME_TOO_SHORT');
    expect(viewFrame('opus', Uint8Array.of(OPUS_TOC, 0x88, 0x00)).issue).toBe('HEADER_MALFORMED');
  });

  it("reads the tag length from the KID's format: 8 bytes after a compact KID (the microphone's), 16 after a full one", () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => i);
    // Compact KID 1, CTR 0x40: [TOC][18 40][body][8-byte tag].
    expect(viewFrame('opus', Uint8Array.of(OPUS_TOC, 0x18, 0x40, ...body(8)))).toMatchObject({ kid: 1n, tagLength: 8 });
    expect(viewFrame('opus', Uint8Array.of(OPUS_TOC, 0x18, 0x40, ...body(7))).issue).toBe('NO_ROOM_FOR_TAG');
    // Full KID 0x10001 (3 bytes): 15 bytes after the header are not a 16-byte tag.
    const full = encodeHeader(0x10001n, 0x40n);
    if (!full.ok) throw new Error(full.error.message);
    expect(viewFrame('opus', Uint8Array.of(OPUS_TOC, ...full.value, ...body(15))).issue).toBe('NO_ROOM_FOR_TAG');
    expect(viewFrame('opus', Uint8Array.of(OPUS_TOC, ...full.value, ...body(16)))).toMatchObject({ kid: 0x10001n, tagLength: 16 });
  });
});
