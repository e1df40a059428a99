import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from '../log.js';

/** Bolt's logger interface over pino, so Bolt's messages go through jobq's redaction too. */
export function boltLogger(log: Logger): SlackLogger {
  const child = log.child({ component: 'bolt' });
  let level = LogLevel.INFO;
  const text = (args: unknown[]) => args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(' ');
  return {
    debug: (...args) => child.debug(text(args)),
    info: (...args) => child.info(text(args)),
    // The WebClient warns at every failed attempt; jobq's delivery watch reports each Slack
    // failure once per channel and error, with the fix, so the per-attempt line is debug.
    warn: (...args) => (args[0] === 'http request failed' ? child.debug(text(args)) : child.warn(text(args))),
    error: (...args) => child.error(text(args)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
