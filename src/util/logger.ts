// Logger factory (pino). JSON lines by default; human-readable when asked (on a TTY). Components get
// a logger passed in; nothing logs through a module-level singleton.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  pretty?: boolean;
  /** Write to this file descriptor (default: 2, standard error). */
  fd?: number;
  name?: string;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const fd = opts.fd ?? 2;
  if (opts.pretty) {
    return pino(
      { level, name: opts.name },
      pino.transport({ target: 'pino-pretty', options: { destination: fd, colorize: true, sync: true } }),
    );
  }
  return pino({ level, name: opts.name }, pino.destination({ fd, sync: true }));
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
