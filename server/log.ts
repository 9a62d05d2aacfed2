// Minimal leveled logger. The server never logs relay payloads or media: they
// are opaque, and the logs should not look like they might hold secrets.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function createLogger(min: LogLevel = 'info', sink: (line: string) => void = (l) => console.log(l)): Logger {
  const emit = (level: LogLevel, msg: string): void => {
    if (ORDER[level] >= ORDER[min]) sink(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}
