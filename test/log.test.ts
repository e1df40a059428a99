import { Writable } from 'node:stream';
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
    log.info({ url: 'postgres://app:hunter2@db:5432/app', token: 'xoxb-1234-abcd', nested: { connectionString: 'postgres://a:b@c/d' } }, 'connecting to postgres://app:hunter2@db/app with xapp-1-XYZ');
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
