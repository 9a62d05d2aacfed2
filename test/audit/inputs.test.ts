import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCliArgs, parseKeysFile } from '../../scripts/audit/cli.ts';
import { findInstanceDirs, readIndex, readProducerPcap } from '../../scripts/audit/tap-reader.ts';
import { removeTempDirs, tempDir, writeTap } from './fixtures.ts';

afterAll(removeTempDirs);

describe('command-line arguments', () => {
  it('takes DIR and the options in any order', () => {
    expect(parseCliArgs(['--keys', 'k.json', 'tap', '--keep-media'])).toEqual({
      ok: true,
      value: { dir: 'tap', keysFile: 'k.json', keepMedia: true, help: false },
    });
    expect(parseCliArgs(['tap', '--ffmpeg=/opt/ffmpeg'])).toMatchObject({ ok: true, value: { dir: 'tap', ffmpeg: '/opt/ffmpeg' } });
  });

  it.each([[[]], [['a', 'b']], [['--keys']], [['--verbose', 'tap']]])('refuses %j as a usage error', (argv) => {
    expect(parseCliArgs(argv)).toMatchObject({ ok: false, code: 'USAGE' });
  });

  it('reads a key file and refuses a malformed one', () => {
    expect(parseKeysFile('{"keys":[{"label":"epoch 1","hex":"00ff"}]}')).toEqual({ ok: true, value: [{ label: 'epoch 1', hex: '00ff' }] });
    expect(parseKeysFile('{"keys":[{"label":1}]}')).toMatchObject({ ok: false, code: 'BAD_KEYS' });
    expect(parseKeysFile('nope')).toMatchObject({ ok: false, code: 'BAD_KEYS' });
  });
});

describe('reading a tap directory', () => {
  it('finds the instances under a tap root, or takes an instance folder itself', () => {
    const root = tempDir('dirs');
    const a = writeTap(root, [], [], 'm1', 'i1');
    const b = writeTap(root, [], [], 'm2', 'i1');
    fs.mkdirSync(path.join(root, 'unrelated'));
    expect(findInstanceDirs(root)).toEqual({ ok: true, value: [a, b] });
    expect(findInstanceDirs(a)).toEqual({ ok: true, value: [a] });
    expect(findInstanceDirs(path.join(root, 'unrelated'))).toMatchObject({ ok: false, code: 'NO_INSTANCES' });
    expect(findInstanceDirs(path.join(root, 'missing'))).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });

  it('refuses an index without the fields the audit needs', () => {
    const dir = tempDir('index');
    fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ producers: [{ producerId: 'x' }] }));
    expect(readIndex(dir)).toMatchObject({ ok: false, code: 'BAD_INDEX' });
  });

  it('does not follow a pcap path out of the instance folder', () => {
    const dir = tempDir('pcap');
    expect(readProducerPcap(dir, '../../etc/passwd')).toMatchObject({ ok: false, code: 'PCAP_INVALID' });
    expect(readProducerPcap(dir, 'producers/none.pcap')).toMatchObject({ ok: false, code: 'PCAP_MISSING' });
  });
});
