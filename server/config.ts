// Server configuration from command-line flags and environment variables.
// Flags win over environment; everything has a default that runs on localhost.

import os from 'node:os';
import path from 'node:path';

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

export interface ConfigError {
  code: 'BAD_CONFIG';
  message: string;
}

const FLAGS: Record<string, { env: string; takesValue: boolean }> = {
  host: { env: 'HOST', takesValue: true },
  port: { env: 'PORT', takesValue: true },
  static: { env: 'STATIC_DIR', takesValue: true },
  'https-cert': { env: 'HTTPS_CERT', takesValue: true },
  'https-key': { env: 'HTTPS_KEY', takesValue: true },
  workers: { env: 'MEDIASOUP_WORKERS', takesValue: true },
  'rtc-ip': { env: 'RTC_LISTEN_IP', takesValue: true },
  'announced-ip': { env: 'RTC_ANNOUNCED_IP', takesValue: true },
  'rtc-min-port': { env: 'RTC_MIN_PORT', takesValue: true },
  'rtc-max-port': { env: 'RTC_MAX_PORT', takesValue: true },
  'log-level': { env: 'MEDIASOUP_LOG_LEVEL', takesValue: true },
  tap: { env: 'TAP_DIR', takesValue: true },
  attack: { env: 'E2EE_ATTACK', takesValue: true },
  'test-mode': { env: 'E2EE_TEST_MODE', takesValue: false },
  quiet: { env: 'QUIET', takesValue: false },
};

export const USAGE = `Usage: npm start -- [options]
  --host HOST            bind address (env HOST, default 127.0.0.1)
  --port PORT            HTTP(S) port (env PORT, default 3000; 0 = any free port)
  --https-cert FILE      serve HTTPS with this certificate (env HTTPS_CERT)
  --https-key FILE       ... and this private key (env HTTPS_KEY)
  --workers N            mediasoup workers (env MEDIASOUP_WORKERS, default: CPU cores)
  --rtc-ip IP            IP the media sockets bind to (env RTC_LISTEN_IP)
  --announced-ip IP      IP browsers connect to for media (env RTC_ANNOUNCED_IP)
  --rtc-min-port N       lowest media port (env RTC_MIN_PORT, default 40000)
  --rtc-max-port N       highest media port (env RTC_MAX_PORT, default 49999)
  --tap DIR              record everything the server sees into DIR (env TAP_DIR)
  --static DIR           built client directory (env STATIC_DIR, default dist/)
  --quiet                log only warnings and errors (env QUIET=1)`;

function readRaw(argv: string[], env: NodeJS.ProcessEnv): Map<string, string | true> | ConfigError {
  const out = new Map<string, string | true>();
  for (const [name, spec] of Object.entries(FLAGS)) {
    const v = env[spec.env];
    if (v !== undefined && v !== '') out.set(name, spec.takesValue ? v : v !== '0' && v !== 'false' ? true : 'false');
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) return { code: 'BAD_CONFIG', message: `unexpected argument '${arg}'\n${USAGE}` };
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = FLAGS[name];
    if (!spec) return { code: 'BAD_CONFIG', message: `unknown option '--${name}'\n${USAGE}` };
    if (!spec.takesValue) {
      out.set(name, true);
      continue;
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) return { code: 'BAD_CONFIG', message: `option '--${name}' needs a value` };
    out.set(name, value);
  }
  return out;
}

function int(raw: Map<string, string | true>, name: string, dflt: number, min: number, max: number): number | ConfigError {
  const v = raw.get(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    return { code: 'BAD_CONFIG', message: `--${name} must be an integer from ${min} to ${max}, got '${String(v)}'` };
  }
  return n;
}

function isError(v: unknown): v is ConfigError {
  return typeof v === 'object' && v !== null && (v as ConfigError).code === 'BAD_CONFIG';
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env, repoRoot = process.cwd()): ServerConfig | ConfigError {
  const raw = readRaw(argv, env);
  if (isError(raw)) return raw;
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
    return { code: 'BAD_CONFIG', message: 'the RTC port range must hold at least 10 ports per worker' };
  }

  const host = str('host') ?? '127.0.0.1';
  const cert = str('https-cert');
  const key = str('https-key');
  if ((cert === undefined) !== (key === undefined)) {
    return { code: 'BAD_CONFIG', message: '--https-cert and --https-key go together' };
  }
  const logLevel = str('log-level') ?? 'warn';
  if (!['debug', 'warn', 'error', 'none'].includes(logLevel)) {
    return { code: 'BAD_CONFIG', message: '--log-level must be debug, warn, error or none' };
  }
  const attack = str('attack');
  const testMode = flag('test-mode');
  if (attack !== undefined && !testMode) {
    return { code: 'BAD_CONFIG', message: '--attack is a test-only option and is refused without --test-mode' };
  }

  // On loopback the media sockets stay on loopback too; otherwise bind all
  // interfaces and announce the first external IPv4 unless told otherwise.
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  const listenIp = str('rtc-ip') ?? (loopback ? '127.0.0.1' : '0.0.0.0');
  const announcedAddress = str('announced-ip') ?? (listenIp === '0.0.0.0' ? firstExternalIPv4() : undefined);

  return {
    host,
    port: port as number,
    staticDir: path.resolve(repoRoot, str('static') ?? 'dist'),
    https: cert && key ? { certFile: cert, keyFile: key } : undefined,
    mediasoup: {
      numWorkers: workers as number,
      listenIp,
      announcedAddress,
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
