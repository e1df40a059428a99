import { App, LogLevel, type Logger } from '@slack/bolt';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SlackEmulator } from '../../src/emulator/web-api.js';

/**
 * A Slack SDK logger that drops everything: the emulator tests provoke refusals on purpose, and
 * the WebClient, SocketModeClient and Bolt would log each one. (jobq's own logs go to testLogger().)
 */
export const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => LogLevel.ERROR, setName() {} };

/**
 * A Bolt app with `register`'s listeners on its HTTP receiver (a free port on 127.0.0.1), the
 * emulator sending its requests there. The caller stops it with `app.stop()`.
 */
export async function startHttpApp(emulator: SlackEmulator, token: string, register: (app: App) => void): Promise<App> {
  const app = new App({ token, signingSecret: emulator.signingSecret, clientOptions: { slackApiUrl: emulator.apiUrl }, logger: quietLogger });
  register(app);
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
  emulator.botUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return app;
}
