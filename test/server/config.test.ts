import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { isConfigError, parseConfig, USAGE, type ServerConfig } from '../../server/config.ts';

const ok = (argv: string[], env: Record<string, string> = {}): ServerConfig => {
  const c = parseConfig(argv, env, '/repo');
  if (isConfigError(c)) throw new Error(c.message);
  return c;
};

describe('server configuration', () => {
  it('defaults to localhost:3000 with media on loopback', () => {
    const c = ok([]);
    expect(c.host).toBe('127.0.0.1');
    expect(c.port).toBe(3000);
    expect(c.mediasoup.listenIp).toBe('127.0.0.1');
    expect(c.tapDir).toBeUndefined();
    expect(c.staticDir).toBe('/repo/dist');
  });

  it('serving localhost, media also listens on a non-loopback address (Firefox gathers no loopback candidates) unless --rtc-ip pins it', () => {
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a?.family === 'IPv4' && !a.internal)?.address;
    expect(ok([]).mediasoup.localListenIp).toBe(external);
    expect(ok(['--rtc-ip', '127.0.0.1']).mediasoup.localListenIp).toBeUndefined();
    expect(ok([], { RTC_LISTEN_IP: '127.0.0.1' }).mediasoup.localListenIp).toBeUndefined();
    expect(ok(['--host', '0.0.0.0']).mediasoup.localListenIp).toBeUndefined();
  });

  it('takes flags over environment variables', () => {
    expect(ok(['--port', '4000'], { PORT: '5000' }).port).toBe(4000);
    expect(ok([], { PORT: '5000' }).port).toBe(5000);
    expect(ok(['--port=4001']).port).toBe(4001);
  });

  it('binds media to all interfaces and announces an address when serving beyond localhost', () => {
    const c = ok(['--host', '0.0.0.0', '--announced-ip', '203.0.113.7']);
    expect(c.mediasoup.listenIp).toBe('0.0.0.0');
    expect(c.mediasoup.announcedAddress).toBe('203.0.113.7');
  });

  it('rejects unknown options, bad numbers and half an HTTPS setup with a message', () => {
    for (const argv of [
      ['--prot', '1'],
      ['--port', 'abc'],
      ['--port', '70000'],
      ['--https-cert', 'c.pem'],
      ['--workers', '0'],
    ]) {
      const c = parseConfig(argv, {}, '/repo');
      expect(isConfigError(c), argv.join(' ')).toBe(true);
    }
  });

  it('explains a bad option in one line that points to --help', () => {
    for (const argv of [['--prot', '1'], ['--port'], ['stray'], ['--quiet=yes']]) {
      const c = parseConfig(argv, {}, '/repo');
      expect(c, argv.join(' ')).toMatchObject({ code: 'BAD_CONFIG', message: expect.stringContaining('--help') });
      if (isConfigError(c)) expect(c.message, argv.join(' ')).not.toContain('\n');
    }
  });

  it('answers --help (or -h) with the usage', () => {
    for (const argv of [['--help'], ['-h'], ['--port', '1', '--help']]) {
      expect(parseConfig(argv, {}, '/repo')).toEqual({ code: 'HELP', message: USAGE });
    }
  });

  it('reads switches from the environment, where 0 and false mean off', () => {
    expect(ok([], { QUIET: '1' }).quiet).toBe(true);
    expect(ok([], { QUIET: 'false' }).quiet).toBe(false);
    expect(ok([], { E2EE_TEST_MODE: '0' }).testMode).toBe(false);
    expect(ok(['--test-mode'], {}).testMode).toBe(true);
  });

  it('refuses an attack mode unless test mode is on', () => {
    const c = parseConfig(['--attack', 'ghost'], {}, '/repo');
    expect(isConfigError(c) && c.message).toContain('test-only');
    expect(ok(['--attack', 'ghost', '--test-mode']).attack).toBe('ghost');
  });

  it('resolves the tap directory', () => {
    expect(ok(['--tap', 'taps/x']).tapDir).toBe('/repo/taps/x');
  });
});
