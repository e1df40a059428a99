import { loadConfig, type Config } from '../config.js';
import { startSlackEmulator, type SlackEmulator } from '../emulator/web-api.js';
import { asJobqError, JobqError } from '../errors.js';
import type { Logger } from '../log.js';
import { DEFAULT_ENVIRONMENT, type Environments } from '../environments/config-file.js';
import { startBot, type RunningBot } from '../main.js';
import { redactUrl } from '../redact.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';
import { startSimulator, type Simulator } from './simulator.js';

export const SANDBOX_BOT_TOKEN = 'xoxb-sandbox-not-a-real-token';

export interface Sandbox {
  url: string;
  /** The first environment's database. */
  databaseUrl: string;
  embedded: boolean;
  bot: RunningBot;
  emulator: SlackEmulator;
  /** The first environment's simulated workers. */
  simulator: Simulator | null;
  /** Each environment's name, database and simulator (one unless JOBQ_SANDBOX_ENVIRONMENTS asks for more). */
  environments: { name: string; databaseUrl: string; channels: string[]; simulator: Simulator | null }[];
  stop(): Promise<void>;
}

/** The sandbox's environments: names and the emulator channels bound to them. */
const SANDBOX_ENVIRONMENTS = [
  { name: 'production', channels: ['C_OPS'] },
  { name: 'staging', channels: ['C_GENERAL'] },
  { name: 'qa', channels: [] },
];

/**
 * The whole bot on one machine with nothing installed: an embedded PostgreSQL (unless
 * JOB_QUEUE_DATABASE_URL is set), a workload simulator, the Slack emulator with its web page,
 * and the real bot in HTTP mode pointed at the emulator. Same code path as production.
 */
/** The error for a port someone else holds, naming the variable that moves it. */
function portInUse(error: unknown, port: number, variable: string, what: string): unknown {
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  if (code !== 'EADDRINUSE') return error;
  return new JobqError('config_invalid', `Port ${port} (${what}) is already in use: another jobq sandbox, or another program, is listening on it.`, {
    hint: `Set ${variable} to a free port (e.g. ${variable}=${port + 1} npm start), or to 0 for any free one; or stop the other process.`,
    runbookSection: 'using-jobq',
    cause: error,
  });
}

/**
 * `overrides.port`: the emulator's page (else JOBQ_SANDBOX_PORT); `overrides.botPort`: the bot's
 * HTTP port with /healthz and /readyz (else PORT when it is set, else any free port).
 */
export async function startSandbox(base: Config, log: Logger, overrides: { port?: number; botPort?: number } = {}): Promise<Sandbox> {
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch((error: unknown) => log.warn({ err: error }, 'sandbox: stop step failed'));
  };
  try {
    // The page's port first: a second sandbox finds it taken in milliseconds, before any database starts.
    const pagePort = overrides.port ?? base.JOBQ_SANDBOX_PORT;
    const emulator = await startSlackEmulator({ port: pagePort, botToken: SANDBOX_BOT_TOKEN }).catch((error: unknown) => {
      throw portInUse(error, pagePort, 'JOBQ_SANDBOX_PORT', "the sandbox's web page");
    });
    stops.push(() => emulator.close());
    const count = base.JOBQ_SANDBOX_ENVIRONMENTS;
    if (count > 1 && base.databaseUrl) {
      throw new JobqError('config_invalid', 'JOBQ_SANDBOX_ENVIRONMENTS runs one embedded database per environment; it cannot share JOB_QUEUE_DATABASE_URL.', {
        hint: 'Unset JOB_QUEUE_DATABASE_URL to try several environments in the sandbox, or set JOBQ_SANDBOX_ENVIRONMENTS=1.',
        runbookSection: 'several-databases',
      });
    }
    const databases: EmbeddedPostgres[] = [];
    if (!base.databaseUrl) {
      for (let i = 0; i < count; i++) {
        const dataDir = base.JOBQ_SANDBOX_DATA_DIR && i > 0 ? `${base.JOBQ_SANDBOX_DATA_DIR}-${SANDBOX_ENVIRONMENTS[i]!.name}` : base.JOBQ_SANDBOX_DATA_DIR;
        const database = await startEmbeddedPostgres({ dataDir });
        stops.push(() => database.stop());
        databases.push(database);
      }
    }
    const urls = base.databaseUrl ? [base.databaseUrl] : databases.map((d) => d.url);
    const databaseUrl = urls[0]!;
    // PORT is honoured as in production (health answers on it); unset, any free port, so two sandboxes can run.
    const botPort = overrides.botPort ?? (process.env.PORT ? base.PORT : 0);

    const configFor = (url: string) =>
      loadConfig({
        ...process.env,
        JOBQ_CONFIG: '',
        JOB_QUEUE_DATABASE_URL: url,
        SLACK_BOT_TOKEN: SANDBOX_BOT_TOKEN,
        SLACK_SIGNING_SECRET: emulator.signingSecret,
        SLACK_API_URL: emulator.apiUrl,
        SLACK_APP_TOKEN: '',
        // A port of its own unless PORT is set (a local Prometheus scraping /metrics wants a fixed one).
        PORT: String(botPort),
        JOBQ_RUNBOOK_URL: `${emulator.url}/runbook`,
        JOBQ_WRITE_USERS: process.env.JOBQ_WRITE_USERS || 'U_OPERATOR',
        JOBQ_ALERT_CHANNEL: process.env.JOBQ_ALERT_CHANNEL || 'C_ALERTS',
        // A demo wants to see an alert within seconds of a failure, not after production's waits.
        JOBQ_ALERT_POLL_SECONDS: process.env.JOBQ_ALERT_POLL_SECONDS || '2',
        JOBQ_ALERT_GROUP_WAIT_SECONDS: process.env.JOBQ_ALERT_GROUP_WAIT_SECONDS || '3',
        JOBQ_SUMMARY_SCHEDULES: process.env.JOBQ_SUMMARY_SCHEDULES || JSON.stringify([{ cron: '*/10 * * * *', timezone: 'UTC', channel: 'C_ALERTS' }]),
        // PGlite has one backend session: one pooled connection keeps every transaction whole.
        ...(databases.length ? { JOBQ_POOL_MAX: '1' } : {}),
      });
    const environments: Environments = {
      file: null,
      list:
        urls.length === 1
          ? [{ name: DEFAULT_ENVIRONMENT, config: configFor(databaseUrl), channels: [] }]
          : urls.map((url, i) => ({ ...SANDBOX_ENVIRONMENTS[i]!, config: configFor(url) })),
    };
    const bot = await startBot(environments, log).catch((error: unknown) => {
      throw portInUse(error, botPort, 'PORT', "the bot's /healthz and /readyz");
    });
    stops.push(() => bot.stop());
    emulator.botUrl = `http://127.0.0.1:${bot.port}`;

    const simulate = base.JOBQ_SANDBOX_SIMULATE ? base.JOBQ_SANDBOX_SIMULATE === 'true' : databases.length > 0;
    const simulators: (Simulator | null)[] = [];
    for (const url of urls) {
      let simulator: Simulator | null = null;
      if (simulate) {
        simulator = await startSimulator({
          url,
          jobsPerMinute: base.JOBQ_SANDBOX_JOBS_PER_MINUTE,
          failureRate: base.JOBQ_SANDBOX_FAILURE_RATE,
          chaosEverySeconds: base.JOBQ_SANDBOX_CHAOS_SECONDS,
          log,
        });
        stops.push(() => simulator!.stop());
      }
      simulators.push(simulator);
    }
    const simulator = simulators[0] ?? null;
    const described = environments.list.map((e, i) => ({ name: e.name, databaseUrl: urls[i]!, channels: e.channels, simulator: simulators[i] ?? null }));
    return { url: emulator.url, databaseUrl, embedded: databases.length > 0, bot, emulator, simulator, environments: described, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** `npm start` without Slack credentials: start the sandbox, print one banner, stop on Ctrl-C. */
export async function runSandbox(config: Config, log: Logger): Promise<number> {
  const started = performance.now();
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox(config, log);
  } catch (error) {
    const e = asJobqError(error);
    process.stderr.write(`jobq sandbox could not start: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
    return e.exitCode;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    [
      '',
      `  jobq sandbox is running (ready in ${seconds}s)`,
      '',
      `  Open ${sandbox.url}  ← a Slack-like channel: type /jobq stats`,
      '',
      `  Slack      local emulator (Web API ${sandbox.emulator.apiUrl}); you are "operator", switch to "viewer" to see permissions`,
      ...(sandbox.environments.length > 1
        ? sandbox.environments.map(
            (e) =>
              `  Env ${e.name.padEnd(10)} embedded PostgreSQL at ${redactUrl(e.databaseUrl)}${e.channels.length ? `; plain commands in ${e.channels.map((c) => `#${c.replace(/^C_/, '').toLowerCase()}`).join(', ')} mean it` : '; reach it with --env'}`,
          )
        : [
            `  Database   ${sandbox.embedded ? `embedded PostgreSQL (PGlite${config.JOBQ_SANDBOX_DATA_DIR ? `, data in ${config.JOBQ_SANDBOX_DATA_DIR}` : ', in memory'}) at` : 'your database at'} ${redactUrl(sandbox.databaseUrl)}`,
          ]),
      `  Workload   ${sandbox.simulator ? `simulated Procrastinate workers, ${config.JOBQ_SANDBOX_JOBS_PER_MINUTE} jobs/min, ${Math.round(config.JOBQ_SANDBOX_FAILURE_RATE * 100)}% failing` : 'none (set JOBQ_SANDBOX_SIMULATE=true to simulate workers)'}`,
      `  Bot        jobq in HTTP mode on :${sandbox.bot.port} (health: http://127.0.0.1:${sandbox.bot.port}/healthz); alerts and summaries go to #alerts`,
      `  Metrics    http://127.0.0.1:${sandbox.bot.port}/metrics (Prometheus; queue read every ${config.JOBQ_METRICS_INTERVAL_SECONDS} s)`,
      '',
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stdout.write('\nStopping the sandbox…\n');
  await sandbox.stop();
  return 0;
}
