import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Header and field names that carry secrets are redacted here so a
 * careless `log.info({ req })` cannot leak a bearer token.
 */
export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'strangler',
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: {
        paths: [
          'authorization',
          'token',
          'password',
          '*.authorization',
          '*.token',
          '*.password',
          'headers.authorization',
          'headers.cookie',
          'req.headers.authorization',
          'req.headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    opts.destination,
  );
}

/** A logger that discards everything (tests, quiet CLI commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
