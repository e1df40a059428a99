import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

export interface LogSink {
  log: Logger;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
  /** Lines at `level` or above (pino's numbers: 40 warn, 50 error, 60 fatal). */
  atLeast(level: number): Record<string, unknown>[];
}

/**
 * The production logger (same redaction, serializers and formatters) at debug, writing into
 * memory instead of stderr: every log call on a tested path runs, as it does in production, and a
 * test can look at what was logged. JOBQ_TEST_LOG=1 also echoes the lines to stderr.
 */
export function testLogger(): LogSink {
  const lines: string[] = [];
  const echo = Boolean(process.env.JOBQ_TEST_LOG);
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = chunk.toString();
      lines.push(text);
      if (lines.length > 5_000) lines.splice(0, lines.length - 5_000);
      if (echo) process.stderr.write(text);
      done();
    },
  });
  const parsed = () => lines.flatMap((l) => l.split('\n').filter(Boolean)).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    log: createLogger('debug', stream),
    lines: parsed,
    atLeast: (level) => parsed().filter((l) => Number(l.level) >= level),
  };
}
