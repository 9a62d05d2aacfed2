// Server configuration from command-line flags and environment variables.
// Flags win over environment; everything has a default that runs on localhost.

import os from 'node:os';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CodedError } from '../shared/result.ts';

export interface ServerConfig {
  host: string;
  port: number;
  /** Directory with the built client (vite build output). */
  staticDir: string;
  https?: { certFile: string; keyFile: string };
  mediasoup: {
    numWorkers: number;
    /** IP the RTC sockets bind to. */
    listenIp: string;
    /** Address put into ICE candidates (what browsers connect to). */
    announcedAddress?: string;
    /**
     * Serving localhost by default: a non-loopback address of this machine
     * that media also listens on, because Firefox gathers no loopback ICE
     * candidates and so cannot reach 127.0.0.1. Off with an explicit --rtc-ip.
     */
    localListenIp?: string;
    minPort: number;
    maxPort: number;
    logLevel: 'debug' | 'warn' | 'error' | 'none';
  };
  /** When set, record what the server sees into this directory (security testing). */
  tapDir?: string;
  /** Test-only adversarial behaviour; refused unless testMode is on. */
  attack?: string;
  testMode: boolean;
  quiet: boolean;
}

/** A command line the server cannot run with (BAD_CONFIG, one line), or a request for the usage text (HELP). */
export interface ConfigError extends CodedError<'BAD_CONFIG' | 'HELP'> {
  code: 'BAD_CONFIG' | 'HELP';
  message: string;
}

// Every flag also reads an environment variable; the flag wins.
const OPTIONS = {
  host: { type: 'string', env: 'HOST' },
  port: { type: 'string', env: 'PORT' },
  static: { type: 'string', env: 'STATIC_DIR' },
  'https-cert': { type: 'string', env: 'HTTPS_CERT' },
  'https-key': { type: 'string', env: 'HTTPS_KEY' },
  workers: { type: 'string', env: 'MEDIASOUP_WORKERS' },
  'rtc-ip': { type: 'string', env: 'RTC_LISTEN_IP' },
  'announced-ip': { type: 'string', env: 'RTC_ANNOUNCED_IP' },
  'rtc-min-port': { type: 'string', env: 'RTC_MIN_PORT' },
  'rtc-max-port': { type: 'string', env: 'RTC_MAX_PORT' },
  'log-level': { type: 'string', env: 'MEDIASOUP_LOG_LEVEL' },
  tap: { type: 'string', env: 'TAP_DIR' },
  attack: { type: 'string', env: 'E2EE_ATTACK' },
  'test-mode': { type: 'boolean', env: 'E2EE_TEST_MODE' },
  quiet: { type: 'boolean', env: 'QUIET' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Record<string, NonNullable<ParseArgsConfig['options']>[string] & { env?: string }>;

export const USAGE = `Usage: npm start -- [options]
  --host HOST            bind address (env HOST, default 127.0.0.1)
  --port PORT            HTTP(S) port (env PORT, default 3000; 0 = any free port)
  --https-cert FILE      serve HTTPS with this certificate (env HTTPS_CERT)
  --https-key FILE       ... and this private key (env HTTPS_KEY)
  --workers N            mediasoup workers (env MEDIASOUP_WORKERS, default: CPU cores)
  --rtc-ip IP            IP the media sockets bind to (env RTC_LISTEN_IP); serving
                         localhost without it, media also listens on this machine's
                         first non-loopback IPv4 (Firefox needs it); 127.0.0.1 turns that off
  --announced-ip IP      IP browsers connect to for media (env RTC_ANNOUNCED_IP)
  --rtc-min-port N       lowest media port (env RTC_MIN_PORT, default 40000)
  --rtc-max-port N       highest media port (env RTC_MAX_PORT, default 49999)
  --tap DIR              record everything the server sees into DIR (env TAP_DIR)
  --static DIR           built client directory (env STATIC_DIR, default dist/)
  --quiet                log only warnings and errors (env QUIET=1)
  --help                 print this text`;

type Raw = Map<string, string | boolean>;

function bad(message: string): ConfigError {
  return { code: 'BAD_CONFIG', message };
}

/** Flags (util.parseArgs) over environment variables; a parse failure becomes one line with a hint. */
function readRaw(argv: string[], env: NodeJS.ProcessEnv): Raw | ConfigError {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    // parseArgs explains over several sentences; the first one names the problem.
    const first = (e instanceof Error ? e.message : String(e)).split(/\.\s|\n/)[0]!.replace(/\.$/, '');
    return bad(`${first} (run with --help for the options)`);
  }
  const out: Raw = new Map();
  for (const [name, spec] of Object.entries(OPTIONS)) {
    const flag = values[name];
    const fromEnv = 'env' in spec ? env[spec.env] : undefined;
    if (flag !== undefined) out.set(name, flag);
    else if (fromEnv === undefined || fromEnv === '') continue;
    else out.set(name, spec.type === 'string' ? fromEnv : fromEnv !== '0' && fromEnv !== 'false');
  }
  return out;
}

function int(raw: Raw, name: string, dflt: number, min: number, max: number): number | ConfigError {
  const v = raw.get(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    return bad(`--${name} must be an integer from ${min} to ${max}, got '${String(v)}'`);
  }
  return n;
}

function isError(v: unknown): v is ConfigError {
  const code = typeof v === 'object' && v !== null ? (v as ConfigError).code : undefined;
  return code === 'BAD_CONFIG' || code === 'HELP';
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env, repoRoot = process.cwd()): ServerConfig | ConfigError {
  const raw = readRaw(argv, env);
  if (isError(raw)) return raw;
  if (raw.get('help') === true) return { code: 'HELP', message: USAGE };
  const str = (k: string): string | undefined => {
    const v = raw.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const flag = (k: string): boolean => raw.get(k) === true;

  const port = int(raw, 'port', 3000, 0, 65535);
  const workers = int(raw, 'workers', Math.max(1, os.cpus().length), 1, 64);
  const minPort = int(raw, 'rtc-min-port', 40000, 1024, 65535);
  const maxPort = int(raw, 'rtc-max-port', 49999, 1024, 65535);
  for (const v of [port, workers, minPort, maxPort]) if (isError(v)) return v;
  if ((maxPort as number) - (minPort as number) < (workers as number) * 10) {
    return bad('the RTC port range must hold at least 10 ports per worker');
  }

  const host = str('host') ?? '127.0.0.1';
  const cert = str('https-cert');
  const key = str('https-key');
  if ((cert === undefined) !== (key === undefined)) {
    return bad('--https-cert and --https-key go together');
  }
  const logLevel = str('log-level') ?? 'warn';
  if (!['debug', 'warn', 'error', 'none'].includes(logLevel)) {
    return bad('--log-level must be debug, warn, error or none');
  }
  const attack = str('attack');
  const testMode = flag('test-mode');
  if (attack !== undefined && !testMode) {
    return bad('--attack is a test-only option and is refused without --test-mode');
  }

  // On loopback the media sockets stay on loopback too, plus this machine's
  // first non-loopback IPv4 for Firefox (no loopback ICE candidates): its
  // sockets accept only ICE-authenticated peers, whose credentials go over the
  // loopback-only signaling. Otherwise bind all interfaces and announce the
  // first external IPv4 unless told otherwise.
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  const listenIp = str('rtc-ip') ?? (loopback ? '127.0.0.1' : '0.0.0.0');
  const announcedAddress = str('announced-ip') ?? (listenIp === '0.0.0.0' ? firstExternalIPv4() : undefined);
  const localListenIp = loopback && str('rtc-ip') === undefined ? firstExternalIPv4() : undefined;

  return {
    host,
    port: port as number,
    staticDir: path.resolve(repoRoot, str('static') ?? 'dist'),
    https: cert && key ? { certFile: cert, keyFile: key } : undefined,
    mediasoup: {
      numWorkers: workers as number,
      listenIp,
      announcedAddress,
      localListenIp,
      minPort: minPort as number,
      maxPort: maxPort as number,
      logLevel: logLevel as ServerConfig['mediasoup']['logLevel'],
    },
    tapDir: str('tap') ? path.resolve(repoRoot, str('tap')!) : undefined,
    attack,
    testMode,
    quiet: flag('quiet'),
  };
}

function firstExternalIPv4(): string | undefined {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

export function isConfigError(v: ServerConfig | ConfigError): v is ConfigError {
  return isError(v);
}
