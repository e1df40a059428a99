import { App, SocketModeReceiver } from '@slack/bolt';
import { JobqError } from '../errors.js';
import { slackClientOptions } from './client.js';
import type { BotDeps } from './deps.js';
import { healthRoutes } from './health.js';
import { register as registerActions } from './listeners/actions.js';
import { register as registerCommands } from './listeners/commands.js';
import { register as registerHome } from './listeners/home.js';
import { boltLogger } from './logger.js';
import { JobqReceiver } from './receiver.js';
import { createReplayGuard } from './replay.js';

export type SlackMode = 'socket' | 'http';

export interface SlackApp {
  app: App;
  mode: SlackMode;
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
}

/** Socket Mode when an app token is set (no public URL needed), else HTTP with the signing secret. */
export function slackModeOf(config: BotDeps['config']): SlackMode {
  return config.SLACK_APP_TOKEN ? 'socket' : 'http';
}

/** The Bolt app over either receiver, with /healthz, /readyz and /metrics on the HTTP port in both modes. */
export function createSlackApp(deps: BotDeps, identity?: { botId: string; botUserId: string }): SlackApp {
  const { config } = deps;
  // Slack's retried deliveries are recognised in the first environment's jobq schema.
  const first = deps.environments[0]!;
  if (!config.SLACK_BOT_TOKEN) {
    throw new JobqError('config_missing', 'SLACK_BOT_TOKEN is not set: the Slack app needs its bot token (xoxb-...).', { runbookSection: 'using-jobq' });
  }
  const mode = slackModeOf(config);
  const logger = boltLogger(deps.log);
  const clientOptions = slackClientOptions(config);
  const routes = [...healthRoutes(deps.environments, deps.slackStatus), ...(deps.routes ?? [])];
  let socket: SocketModeReceiver | undefined;
  let http: JobqReceiver;
  if (mode === 'socket') {
    socket = new SocketModeReceiver({ appToken: config.SLACK_APP_TOKEN!, logger, installerOptions: { clientOptions } });
    // Slack's requests come over the socket; the HTTP port serves health (and the like) only.
    http = new JobqReceiver({ routes, log: deps.log });
  } else {
    if (!config.SLACK_SIGNING_SECRET) {
      throw new JobqError('config_missing', 'SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify requests (or set SLACK_APP_TOKEN for Socket Mode).', {
        runbookSection: 'using-jobq',
      });
    }
    const replay = createReplayGuard({ pool: first.queue.db, ready: first.migrated, log: deps.log });
    http = new JobqReceiver({ signingSecret: config.SLACK_SIGNING_SECRET, replay, routes, log: deps.log });
  }
  const receiver = socket ?? http;
  // With the bot's identity from the preflight Bolt skips its own auth.test, whose rejection
  // nothing would catch; without it (Slack unreachable at start) Bolt asks on the first request.
  const auth = identity ? { botId: identity.botId, botUserId: identity.botUserId } : { tokenVerificationEnabled: false };
  const app = new App({ token: config.SLACK_BOT_TOKEN, receiver, logger, clientOptions, ...auth });
  registerCommands(app, deps);
  registerActions(app, deps);
  registerHome(app, deps);
  app.error(async (error) => {
    deps.log.error({ err: error }, 'unhandled Slack error');
  });

  return {
    app,
    mode,
    async start() {
      if (socket) await http.start(config.PORT);
      await app.start(config.PORT);
      return { port: http.port() };
    },
    async stop() {
      await app.stop();
      if (socket) await http.stop();
    },
  };
}
