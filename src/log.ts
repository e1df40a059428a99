import pino, { type Logger } from 'pino';
import { redactSecrets } from './redact.js';

export type { Logger };

/**
 * JSON logs for machines; pretty when a person watches a terminal. Secrets are redacted both
 * by path (known config keys) and by shape (passwords in URLs, Slack tokens) in every message.
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', destination: pino.DestinationStream | undefined = undefined): Logger {
  const options: pino.LoggerOptions = {
    name: 'jobq',
    level,
    redact: {
      paths: ['password', '*.password', 'connectionString', '*.connectionString', 'token', '*.token', 'signingSecret', '*.signingSecret', 'headers.authorization', '*.headers.authorization'],
      censor: '***',
    },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg)) as Parameters<typeof method>);
      },
    },
    formatters: {
      log(object) {
        return JSON.parse(redactSecrets(JSON.stringify(object))) as Record<string, unknown>;
      },
    },
    serializers: { err: (err: Error) => ({ type: err.name, message: redactSecrets(err.message), code: (err as { code?: string }).code }) },
  };
  if (destination) return pino(options, destination);
  if (process.stderr.isTTY && !process.env.CI) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } } });
  }
  return pino(options, pino.destination(2));
}
