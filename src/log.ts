import pino, { type Logger } from 'pino';
import { redactSecrets } from './redact.js';

export type { Logger };

const MAX_DEPTH = 6;
const MAX_STRING = 4_000;
const MAX_ITEMS = 50;

/** An error of any shape (pg's DatabaseError, Slack's WebAPIPlatformError, AggregateError...) as plain, redacted data. */
export function serializeError(value: unknown, depth = 0, seen = new WeakSet<object>()): Record<string, unknown> {
  if (value === null || typeof value !== 'object') return { message: redactSecrets(String(value)).slice(0, MAX_STRING) };
  if (seen.has(value)) return { message: '[circular]' };
  seen.add(value);
  const err = value as Error & { code?: unknown; data?: { error?: unknown }; cause?: unknown; errors?: unknown };
  const out: Record<string, unknown> = {
    type: typeof err.name === 'string' ? err.name : (value.constructor?.name ?? 'Object'),
    message: redactSecrets(typeof err.message === 'string' ? err.message : String(err.message ?? '')).slice(0, MAX_STRING),
  };
  if (typeof err.code === 'string' || typeof err.code === 'number') out.code = err.code;
  // Slack's platform errors carry the reason (channel_not_found, invalid_auth...) in data.error.
  if (err.data && typeof err.data === 'object' && typeof err.data.error === 'string') out.slackError = err.data.error;
  if (typeof err.stack === 'string') out.stack = redactSecrets(err.stack).slice(0, MAX_STRING);
  if (depth < 3 && err.cause !== undefined) out.cause = serializeError(err.cause, depth + 1, seen);
  if (depth < 3 && Array.isArray(err.errors)) out.errors = err.errors.slice(0, 10).map((e) => serializeError(e, depth + 1, seen));
  return out;
}

/**
 * A log field made safe to write: secrets redacted in every string, errors kept readable (a plain
 * JSON round trip turns an Error into {}), cycles, depth and size bounded. It never throws.
 */
export function redactValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactSecrets(value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? String(value) : value;
  if (value instanceof Error) return serializeError(value, 0, seen);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((item) => redactValue(item, depth + 1, seen));
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const key of Object.keys(value)) {
    if (n++ >= MAX_ITEMS) break;
    let item: unknown;
    try {
      item = (value as Record<string, unknown>)[key];
    } catch {
      item = '[unreadable]';
    }
    out[key] = redactValue(item, depth + 1, seen);
  }
  return out;
}

/**
 * JSON logs for machines; pretty when a person watches a terminal. Secrets are redacted both
 * by path (known config keys) and by shape (passwords in URLs, Slack tokens) in every message.
 * Logging never throws: a log call sits on every error path, and one that threw would turn a
 * handled fault into a crash.
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', destination: pino.DestinationStream | undefined = undefined): Logger {
  const options: pino.LoggerOptions = {
    name: 'jobq',
    level,
    redact: {
      paths: [
        'password',
        '*.password',
        'connectionString',
        '*.connectionString',
        'token',
        '*.token',
        'signingSecret',
        '*.signingSecret',
        'headers.authorization',
        '*.headers.authorization',
      ],
      censor: '***',
    },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg)) as Parameters<typeof method>);
      },
    },
    formatters: {
      log(object) {
        try {
          return redactValue(object) as Record<string, unknown>;
        } catch (error) {
          return { logFieldsUnreadable: String((error as Error)?.message ?? error) };
        }
      },
    },
    serializers: {
      // pino takes the message of a logged Error itself, past the logMethod hook: redact it here.
      msg: (msg: unknown) => (typeof msg === 'string' ? redactSecrets(msg) : msg),
      err: (err: unknown) => (err !== null && typeof err === 'object' && 'message' in err && 'type' in err && !(err instanceof Error) ? err : serializeError(err)),
    },
  };
  if (destination) return pino(options, destination);
  if (process.stderr.isTTY && !process.env.CI) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } } });
  }
  return pino(options, pino.destination(2));
}
