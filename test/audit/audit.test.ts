// End to end: real encoder output, packetised into RTP and written as a tap
// recording, then audited. The audit must call plaintext NOT BLIND, the same
// media SFrame-encrypted BLIND, and must not pass a leaked key or an empty tap.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTap, type AuditSummary } from '../../scripts/audit/index.ts';
import {
  encodeSources,
  encryptSender,
  fakeSFrame,
  fixedKey,
  ordinarySignaling,
  packetise,
  tempDir,
  writeTap,
  removeTempDirs,
  type FixtureCodec,
  type SourceFrame,
  type Sources,
} from './fixtures.ts';

afterAll(removeTempDirs);

const REPO = path.resolve(import.meta.dirname, '../..');
const ALICE = [
  { kid: (1n << 16n) | 0n, baseKey: fixedKey(1) },
  { kid: (2n << 16n) | 0n, baseKey: fixedKey(2) },
];
const BOB = [{ kid: (1n << 16n) | 1n, baseKey: fixedKey(3) }];
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const KEYS = [
  { label: 'alice epoch 1 key', hex: hex(ALICE[0]!.baseKey) },
  { label: 'alice epoch 2 key', hex: hex(ALICE[1]!.baseKey) },
  { label: 'bob epoch 1 key', hex: hex(BOB[0]!.baseKey) },
  { label: 'alice x25519 private', hex: hex(fixedKey(9, 32)) },
];

let sources: Sources;
let encrypted: Tracks;

type Tracks = { vp8: SourceFrame[]; opus: SourceFrame[]; vp9: SourceFrame[] };

function tap(tracks: Tracks, signaling = ordinarySignaling(), only: ReadonlyArray<keyof Tracks> = ['vp8', 'opus', 'vp9']): string {
  const root = tempDir('tap');
  const producer = (producerId: string, participant: 'alice' | 'bob', codec: FixtureCodec, frames: SourceFrame[], ssrc: number) => ({
    producerId,
    participantId: `p-${participant}`,
    participantName: participant === 'alice' ? 'Alice <img src=x>' : 'Bob',
    codec,
    packetised: packetise(codec, frames, ssrc),
  });
  const all = {
    vp8: () => producer('a1-video', 'alice', 'vp8', tracks.vp8, 1111),
    opus: () => producer('a2-audio', 'alice', 'opus', tracks.opus, 2222),
    vp9: () => producer('b1-video', 'bob', 'vp9', tracks.vp9, 3333),
  };
  writeTap(
    root,
    only.map((k) => all[k]()),
    signaling,
  );
  return root;
}

const reasonsOf = (s: AuditSummary) => s.reasons.join('\n');

beforeAll(async () => {
  sources = encodeSources(tempDir('src'));
  const [vp8, opus] = await encryptSender(
    [
      { codec: 'vp8', frames: sources.vp8 },
      { codec: 'opus', frames: sources.opus },
    ],
    ALICE,
  );
  const [vp9] = await encryptSender([{ codec: 'vp9', frames: sources.vp9 }], BOB);
  encrypted = { vp8: vp8!, opus: opus!, vp9: vp9! };
});

// Each audit runs a few dozen short ffmpeg decodes: about 2-3 s on an idle machine, more under load.
const SLOW = 90_000;

describe('auditing a tap recording', () => {
  it(
    'calls plaintext media NOT BLIND, because it decodes',
    async () => {
      const s = await auditTap(tap(sources));
      expect(s.verdict).toBe('NOT BLIND');
      const r = reasonsOf(s);
      expect(r).toMatch(/a1-video.*as captured, 30 of 30 frames \(100%\) decode as VP8 with bit-identical pictures/);
      expect(r).toMatch(/b1-video.*decode as VP9/);
      expect(r).toMatch(/a2-audio.*decode like real audio/);
      expect(r).toMatch(/are SFrame-structured/);
    },
    SLOW,
  );

  it(
    'calls the same media SFrame-encrypted BLIND, and writes the three reports',
    async () => {
      const dir = tap(encrypted);
      const s = await auditTap(dir, { keys: KEYS });
      expect(s.reasons).toEqual([]);
      expect(s.verdict).toBe('BLIND');
      expect(s.totals).toMatchObject({ producers: 3, frames: 30 + 101 + 30 });
      const [vp8, opus, vp9] = s.instances[0]!.producers;
      expect(vp8!.sframe).toMatchObject({ consistent: 30, frames: 30 });
      expect(vp8!.sframe.kids.map((k) => k.kid)).toEqual(['0x10000', '0x20000']);
      expect(vp8!.capture).toMatchObject({ otherPayloadType: 1, paddingOnly: 1, duplicatePackets: 1 });
      expect(opus!.decode).toMatchObject({ type: 'audio', stripped: { result: 'noise-like', packets: 101 } });
      expect(opus!.decode.type === 'audio' && opus!.decode.asCaptured).toBe(undefined); // every frame is SFrame: nothing to decode as is
      expect(vp9!.decode).toMatchObject({ type: 'video', asCaptured: { result: 'like-random', identical: 0 } });
      expect(s.keySearch).toMatchObject({ ran: true, keys: 4, hits: [] });

      expect(JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'))).toMatchObject({ verdict: 'BLIND' });
      expect(fs.readFileSync(path.join(dir, 'report.md'), 'utf8')).toMatch(/^# Tap audit: BLIND/);
      const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
      expect(html).toContain('<svg');
      expect(html).not.toMatch(/<script|<link|<img|<iframe|\s(src|href)\s*=\s*["']|url\(/i); // self-contained, nothing fetched
      expect(html).toContain('Alice &lt;img src=x&gt;');
    },
    SLOW,
  );

  it(
    'calls encrypted media NOT BLIND when a key appears in signaling, naming the key and the line',
    async () => {
      const leak = { type: 'relay', to: 'p-bob', payload: JSON.stringify({ debug: `epoch=${KEYS[1]!.hex}` }) };
      const s = await auditTap(tap(encrypted, [...ordinarySignaling(), leak], ['opus']), { keys: KEYS });
      expect(s.verdict).toBe('NOT BLIND');
      expect(s.reasons).toEqual([expect.stringMatching(/^key 'alice epoch 2 key' found: hex in m1-i1\/signaling\.jsonl line 5/)]);
    },
    SLOW,
  );

  it(
    'calls an SFrame header around unencrypted media NOT BLIND (stripped view)',
    async () => {
      const s = await auditTap(
        tap({
          vp8: fakeSFrame('vp8', sources.vp8, 5n),
          opus: fakeSFrame('opus', sources.opus, 5n),
          vp9: fakeSFrame('vp9', sources.vp9, 6n),
        }),
      );
      expect(s.verdict).toBe('NOT BLIND');
      const r = reasonsOf(s);
      expect(r).not.toMatch(/SFrame-structured/); // the structure alone is fooled…
      expect(r).toMatch(/a1-video.*with the SFrame header and tag removed, 30 of 30 frames .* decode as VP8/); // …the decoders are not
      expect(r).toMatch(/b1-video.*header and tag removed.*decode as VP9/);
      expect(r).toMatch(/a2-audio.*header and tag removed.*decode like real audio/);
    },
    SLOW,
  );

  it('does not pass an empty capture', async () => {
    const root = tempDir('empty');
    writeTap(
      root,
      [
        {
          producerId: 'silent',
          participantId: 'p-alice',
          participantName: 'Alice',
          codec: 'vp8',
          packetised: { packets: [], payloadType: 101 },
        },
      ],
      ordinarySignaling(),
    );
    const s = await auditTap(root, { keys: KEYS });
    expect(s).toMatchObject({ verdict: 'NOT BLIND', totals: { frames: 0 } });
    expect(s.reasons[0]).toMatch(/^nothing captured/);
  });
});

describe('the command line', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'scripts/audit.ts'), ...args], { cwd: REPO, encoding: 'utf8' });

  it(
    'exits 1 with the verdict and report path for NOT BLIND, and 2 for usage and input errors',
    () => {
      const root = tempDir('cli');
      writeTap(root, [], ordinarySignaling());
      const notBlind = cli(root);
      expect(notBlind.status).toBe(1);
      expect(notBlind.stdout).toMatch(/^NOT BLIND\n/);
      expect(notBlind.stdout).toContain(path.join(root, 'report.html'));
      expect(cli().status).toBe(2);
      expect(cli(path.join(root, 'nope')).status).toBe(2);
      fs.writeFileSync(path.join(root, 'keys.json'), '{"keys": 3}');
      expect(cli(root, '--keys', path.join(root, 'keys.json')).status).toBe(2);
    },
    SLOW,
  );
});
