import type { Logger } from '../log.js';
import { requestContext } from './receiver.js';

let installed = false;

/**
 * The last line of defence of a long-running bot: an error that escaped every handler is logged
 * with the Slack request it came from, and the process carries on serving everyone else. Node's
 * default (exit on an unhandled rejection) would turn one bad request into an outage.
 */
export function installProcessGuards(log: Logger): void {
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason, request: requestContext.getStore() ?? null }, 'an error escaped its handler (unhandled rejection); jobq keeps running');
  });
  process.on('uncaughtException', (error) => {
    log.error({ err: error, request: requestContext.getStore() ?? null }, 'an error escaped its handler (uncaught exception); jobq keeps running');
  });
}
