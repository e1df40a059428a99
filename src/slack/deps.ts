import type { Config } from '../config.js';
import type { QueueHandle } from '../queue/handle.js';
import type { Logger } from '../log.js';
import type { RenderOptions } from '../render/blocks/reads.js';
import type { Confirmations } from './confirmations.js';
import type { CommandRecorder } from './guard.js';
import type { Permissions } from './permissions.js';
import type { Route } from './receiver.js';
import type { SlackStatus } from './status.js';

/** What the Slack listeners need, built once in main.ts. */
export interface SlackDeps {
  config: Config;
  queue: QueueHandle;
  permissions: Permissions;
  confirmations: Confirmations;
  /** Resolves once jobq's own schema is migrated; every change awaits it. */
  migrated: () => Promise<void>;
  render: RenderOptions;
  log: Logger;
  /** The latest Slack preflight and the watch on posts (absent in tests that build deps by hand). */
  slackStatus?: SlackStatus;
  /** Where each request's time and outcome are reported (jobq's metrics; absent in tests that build deps by hand). */
  metrics?: CommandRecorder;
  /** More GET routes on the bot's port (/metrics). */
  routes?: Route[];
}
