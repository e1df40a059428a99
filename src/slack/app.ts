import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
import { JobqError } from '../errors.js';
import { slackClientOptions } from './client.js';
import type { SlackDeps } from './deps.js';
import { healthRoutes } from './health.js';
import { register as registerActions } from './listeners/actions.js';
import { register as registerCommands } from './listeners/commands.js';
import { boltLogger } from './logger.js';

export type SlackMode = 'socket' | 'http';

export interface SlackApp {
  app: App;
  mode: SlackMode;
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
}

/** Socket Mode when an app token is set (no public URL needed), else HTTP with the signing secret. */
export function slackModeOf(config: SlackDeps['config']): SlackMode {
  return config.SLACK_APP_TOKEN ? 'socket' : 'http';
}

/** The Bolt app over either receiver, with /healthz and /readyz on the HTTP port in both modes. */
export function createSlackApp(deps: SlackDeps, identity?: { botId: string; botUserId: string }): SlackApp {
  const { config } = deps;
  if (!config.SLACK_BOT_TOKEN) {
    throw new JobqError('config_missing', 'SLACK_BOT_TOKEN is not set: the Slack app needs its bot token (xoxb-...).', { runbookSection: 'using-jobq' });
  }
  const mode = slackModeOf(config);
  const logger = boltLogger(deps.log);
  const clientOptions = slackClientOptions(config);
  const customRoutes = healthRoutes(deps.queue, deps.slackStatus);
  let receiver: HTTPReceiver | SocketModeReceiver;
  if (mode === 'socket') {
    receiver = new SocketModeReceiver({ appToken: config.SLACK_APP_TOKEN!, customRoutes, logger, installerOptions: { port: config.PORT, clientOptions } });
  } else {
    if (!config.SLACK_SIGNING_SECRET) {
      throw new JobqError('config_missing', 'SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify requests (or set SLACK_APP_TOKEN for Socket Mode).', { runbookSection: 'using-jobq' });
    }
    // Bolt acks on our ack() call (processBeforeResponse false): the reply comes later.
    receiver = new HTTPReceiver({ signingSecret: config.SLACK_SIGNING_SECRET, customRoutes, logger, processBeforeResponse: false });
  }
  // With the bot's identity from the preflight Bolt skips its own auth.test, whose rejection
  // nothing would catch; without it (Slack unreachable at start) Bolt asks on the first request.
  const auth = identity ? { botId: identity.botId, botUserId: identity.botUserId } : { tokenVerificationEnabled: false };
  const app = new App({ token: config.SLACK_BOT_TOKEN, receiver, logger, clientOptions, ...auth });
  registerCommands(app, deps);
  registerActions(app, deps);
  app.error(async (error) => {
    deps.log.error({ err: error }, 'unhandled Slack error');
  });

  let server: Server | undefined;
  return {
    app,
    mode,
    async start() {
      if (mode === 'http') {
        server = (await app.start(config.PORT)) as Server;
        return { port: (server.address() as AddressInfo).port };
      }
      await app.start();
      const http = (receiver as unknown as { httpServer?: Server }).httpServer;
      if (http && !http.listening) await new Promise((resolve) => http.once('listening', resolve));
      return { port: http ? (http.address() as AddressInfo).port : config.PORT };
    },
    async stop() {
      await app.stop();
    },
  };
}
