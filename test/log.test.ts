import { Writable } from 'node:stream';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { JobqError } from '../src/errors.js';
import { createLogger } from '../src/log.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => lines.join('') };
}

/** Secrets never reach logs or errors. */
describe('redaction', () => {
  it('removes passwords in URLs and Slack tokens from log lines and fields', () => {
    const out = capture();
    const log = createLogger('info', out.stream);
    log.info(
      { url: 'postgres://app:hunter2@db:5432/app', token: 'xoxb-1234-abcd', nested: { connectionString: 'postgres://a:b@c/d' } },
      'connecting to postgres://app:hunter2@db/app with xapp-1-XYZ',
    );
    const text = out.text();
    expect(text).toContain('postgres://app:***@db');
    expect(text).not.toMatch(/hunter2|xoxb-1234-abcd|xapp-1-XYZ|a:b@c/);
  });

  it('names a bad variable without echoing its value', () => {
    const error = (() => {
      try {
        loadConfig({ JOB_QUEUE_DATABASE_URL: 'mysql://root:hunter2@db/app' });
      } catch (e) {
        return e as JobqError;
      }
      throw new Error('no error');
    })();
    expect(error.message).toContain('JOB_QUEUE_DATABASE_URL');
    expect(error.message).not.toContain('hunter2');
    expect(error.exitCode).toBe(1);
  });

  it('redacts secrets inside JobqError messages', () => {
    expect(new JobqError('internal', 'failed: postgres://u:topsecret@h/db').message).not.toContain('topsecret');
  });
});

/** A log call sits on every error path: it must never throw, whatever it is given. */
describe('logging never throws', () => {
  async function slackPlatformError(): Promise<unknown> {
    const { startSlackEmulator } = await import('../src/emulator/web-api.js');
    const { WebClient } = await import('@slack/web-api');
    const slack = await startSlackEmulator({ botToken: 'xoxb-right' });
    try {
      await new WebClient('xoxb-wrong-secret-token', { slackApiUrl: `${slack.apiUrl}/`, retryConfig: { retries: 0 } }).auth.test();
    } catch (error) {
      return error;
    } finally {
      await slack.close();
    }
    throw new Error('auth.test with a wrong token did not fail');
  }

  it('logs every shape at every level through the production configuration, secrets redacted', async () => {
    const circular: Record<string, unknown> = { name: 'loop', url: 'postgres://u:circ-secret@h/db' };
    circular.self = circular;
    const withCause = new Error('outer postgres://u:cause-secret@h/db', { cause: new Error('inner xoxb-123-cause') });
    const dbError = new pg.DatabaseError('password authentication failed for user "app" (password=hunter2)', 100, 'error');
    dbError.code = '28P01';
    const platform = await slackPlatformError();
    expect((platform as { data?: { error?: string } }).data?.error).toBe('invalid_auth');
    const shapes: [string, unknown][] = [
      ['Error', new Error('plain postgres://u:err-secret@h/db')],
      ['Error with cause', withCause],
      ['pg DatabaseError', dbError],
      ['AggregateError', new AggregateError([new Error('one'), 'two xapp-1-agg'], 'many failed')],
      ['WebAPIPlatformError', platform],
      ['null', null],
      ['undefined', undefined],
      ['circular object', circular],
      ['string', 'just text with postgres://u:str-secret@h/db'],
      ['number', 42],
      [
        'getter that throws',
        Object.defineProperty({}, 'boom', {
          enumerable: true,
          get: () => {
            throw new Error('getter');
          },
        }),
      ],
    ];
    const out = capture();
    const log = createLogger('trace', out.stream);
    const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
    for (const [label, value] of shapes) {
      for (const level of levels) {
        expect(() => log[level]({ err: value, label }, `logging ${label}`)).not.toThrow();
        expect(() => log[level]({ nested: { value }, label }, `nested ${label}`)).not.toThrow();
        if (value instanceof Error) expect(() => log[level](value)).not.toThrow();
      }
    }
    const lines = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(shapes.length * levels.length * 2);
    const text = out.text();
    expect(text).not.toMatch(/err-secret|cause-secret|xoxb-123-cause|hunter2|circ-secret|str-secret|xapp-1-agg|xoxb-wrong-secret-token/);
    // Errors stay readable: type, message, code, cause and Slack's reason survive.
    const errOf = (label: string) => lines.find((l) => l.label === label && l.err)!.err as Record<string, unknown>;
    expect(errOf('Error')).toMatchObject({ type: 'Error', message: 'plain postgres://u:***@h/db' });
    expect((errOf('Error with cause').cause as Record<string, unknown>).message).toBe('inner xoxb-***');
    expect(errOf('pg DatabaseError')).toMatchObject({ code: '28P01' });
    expect(errOf('AggregateError').errors).toHaveLength(2);
    expect(errOf('WebAPIPlatformError')).toMatchObject({ slackError: 'invalid_auth' });
    expect(errOf('null').message).toBe('null');
    expect(errOf('circular object')).toBeDefined();
  });
});
