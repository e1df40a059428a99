import type { Config } from '../config.js';
import type { EnvironmentLabel } from '../render/blocks/environment.js';
import type { QueueHandle } from '../queue/handle.js';
import type { Logger } from '../log.js';
import type { RenderOptions } from '../render/blocks/reads.js';
import type { Confirmations } from './confirmations.js';
import type { CommandRecorder } from './guard.js';
import type { Permissions } from './permissions.js';
import type { Route } from './receiver.js';
import type { SlackStatus } from './status.js';

/** One environment as the Slack listeners see it: its database, rights, confirmations, renderings. */
export interface SlackDeps {
  config: Config;
  /** Its name (shown on replies when there are several) and the channels bound to it. */
  environment: EnvironmentLabel & { channels: readonly string[] };
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
}

/** The whole bot as the Slack app sees it: one Slack app and port, every environment behind it. */
export interface BotDeps {
  environments: SlackDeps[];
  /** The process-wide settings (Slack tokens, PORT): the same in every environment. */
  config: Config;
  log: Logger;
  /** For answers given before an environment is known (a bad flag, an unknown environment). */
  render: RenderOptions;
  slackStatus?: SlackStatus;
  metrics?: CommandRecorder;
  routes?: Route[];
}
