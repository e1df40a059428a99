import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { type Config, envSchema, isPostgresUrl, loadConfig } from '../config.js';
import { JobqError } from '../errors.js';

/**
 * One Procrastinate database jobq serves: production, staging, or one service's queue. Each has
 * its own Config (the same type a single-database deployment gets from its variables), so every
 * part of jobq that takes a Config works per environment unchanged.
 */
export interface Environment {
  name: string;
  config: Config;
  /** Channels where a command without --env means this environment. */
  channels: string[];
}

/** The environments jobq serves, and the file they came from (null: the variables, as `default`). */
export interface Environments {
  list: Environment[];
  file: string | null;
}

export const DEFAULT_ENVIRONMENT = 'default';

/**
 * The file's friendly keys and the variable each stands for. A value goes through the variable's
 * own rule in envSchema, so the file and the variables can never disagree on what is valid.
 */
const FILE_KEYS = {
  schema: 'JOB_QUEUE_SCHEMA',
  alertChannel: 'JOBQ_ALERT_CHANNEL',
  alertsDisabled: 'JOBQ_ALERTS_DISABLED',
  auditChannel: 'JOBQ_AUDIT_CHANNEL',
  summarySchedules: 'JOBQ_SUMMARY_SCHEDULES',
  backlogMaxAgeSeconds: 'JOBQ_BACKLOG_MAX_AGE_SECONDS',
  backlogMaxJobs: 'JOBQ_BACKLOG_MAX_JOBS',
  queueThresholds: 'JOBQ_QUEUE_THRESHOLDS',
  stalledHeartbeatSeconds: 'JOBQ_STALLED_HEARTBEAT_SECONDS',
  stalledRunningSeconds: 'JOBQ_STALLED_RUNNING_SECONDS',
  readChannels: 'JOBQ_READ_CHANNELS',
  writeUsers: 'JOBQ_WRITE_USERS',
  writeGroups: 'JOBQ_WRITE_GROUPS',
  runbookUrl: 'JOBQ_RUNBOOK_URL',
  enabled: 'JOB_QUEUE_ENABLED',
} as const satisfies Record<string, keyof typeof envSchema.shape>;
type FileKey = keyof typeof FILE_KEYS;

/** Process-wide: one Slack app, one port, one log. An environment may not set these. */
const GLOBAL_VARIABLES = new Set<string>([
  'JOBQ_CONFIG',
  'JOB_QUEUE_DATABASE_URL',
  'DATABASE_URL',
  'JOB_QUEUE_READ_DATABASE_URL',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'SLACK_API_URL',
  'PORT',
  'LOG_LEVEL',
]);
const isGlobal = (name: string) => GLOBAL_VARIABLES.has(name) || name.startsWith('JOBQ_SANDBOX_');

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const value = z.union([scalar, z.array(z.unknown()), z.record(z.string(), z.unknown())]);
const variableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable holding the URL (the URL itself, with its password, never goes in the file)');
const channelId = z.string().regex(/^[CGD][A-Z0-9_]{2,}$/, 'must be a Slack channel ID such as C0123ABCD (channel names change; IDs do not)');

const entrySchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1-32 lowercase letters, digits, - or _ (it is typed after --env)'),
  databaseUrlEnv: variableName,
  readDatabaseUrlEnv: variableName.optional(),
  channels: z.array(channelId).max(100).default([]),
  ...(Object.fromEntries(Object.keys(FILE_KEYS).map((k) => [k, value.optional()])) as Record<FileKey, z.ZodOptional<typeof value>>),
  /** Any other per-environment variable, by its own name. */
  settings: z.record(z.string(), value).optional(),
});
const fileSchema = z.strictObject({ environments: z.array(entrySchema).min(1, 'needs at least one environment').max(20) });
type Entry = z.infer<typeof entrySchema>;

/**
 * The environments to serve: JOBQ_CONFIG's file when set, else the variables as one environment
 * named `default` (the single-database setup, unchanged). Every problem is one line naming the
 * file, the place in it and the fix; a URL's value is never shown.
 */
export function loadEnvironments(env: NodeJS.ProcessEnv = process.env): Environments {
  const file = env.JOBQ_CONFIG?.trim();
  if (!file) return { list: [{ name: DEFAULT_ENVIRONMENT, config: loadConfig(env), channels: [] }], file: null };
  loadConfig(withoutDatabase(env)); // the process-wide variables, checked as usual first
  const raw = parseFile(file, readFile(file));
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keys = ['name', 'databaseUrlEnv', 'readDatabaseUrlEnv', 'channels', ...Object.keys(FILE_KEYS), 'settings'];
    const hint = issue.code === 'unrecognized_keys' ? `An environment takes: ${keys.join(', ')}.` : 'Fix that entry (see the README, "Several databases") and start again.';
    fail(file, `${pathText(issue.path, raw)}: ${issue.message}`, hint);
  }
  const list = parsed.data.environments.map((entry, i) => environmentOf(file, entry, i, env));
  checkUnique(file, list);
  return { list, file };
}

function environmentOf(file: string, entry: Entry, index: number, env: NodeJS.ProcessEnv): Environment {
  const where = `environments[${index}] "${entry.name}"`;
  const url = (key: 'databaseUrlEnv' | 'readDatabaseUrlEnv', variable: string) => {
    const found = env[variable]?.trim();
    if (!found) fail(file, `${where}.${key}: the variable ${variable} is not set`, `Set ${variable} to the postgres:// URL of ${entry.name}'s Procrastinate database.`);
    if (!isPostgresUrl(found))
      fail(file, `${where}.${key}: ${variable} must hold a postgres:// or postgresql:// URL`, `Fix the value of ${variable} (it is not shown here: it may hold a password).`);
    return found;
  };
  const variables: Record<string, string> = {};
  for (const key of Object.keys(FILE_KEYS) as FileKey[]) {
    if (entry[key] !== undefined) variables[FILE_KEYS[key]] = asVariable(entry[key]);
  }
  for (const [name, v] of Object.entries(entry.settings ?? {})) {
    if (!(name in envSchema.shape)) fail(file, `${where}.settings.${name}: jobq has no such setting`, "Use a variable name from the README's configuration table.");
    if (isGlobal(name))
      fail(file, `${where}.settings.${name}: applies to the whole process, not one environment`, 'Set it as an environment variable of the jobq process instead.');
    variables[name] = asVariable(v);
  }
  // The same schema as the variables: each value is checked by its variable's own rule.
  const checked = envSchema.safeParse({ ...variables });
  if (!checked.success) {
    const issue = checked.error.issues.find((i) => String(i.path[0]) in variables);
    if (issue) {
      const variable = String(issue.path[0]);
      const key = (Object.keys(FILE_KEYS) as FileKey[]).find((k) => FILE_KEYS[k] === variable);
      const rest = issue.path
        .slice(1)
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('');
      fail(file, `${where}.${key ?? `settings.${variable}`}${rest}: ${issue.message}`, `Fix that value (it follows the same rule as ${variable}).`);
    }
  }
  const config = loadConfig({
    ...withoutDatabase(env),
    ...variables,
    JOB_QUEUE_DATABASE_URL: url('databaseUrlEnv', entry.databaseUrlEnv),
    ...(entry.readDatabaseUrlEnv ? { JOB_QUEUE_READ_DATABASE_URL: url('readDatabaseUrlEnv', entry.readDatabaseUrlEnv) } : {}),
  });
  return { name: entry.name, config, channels: entry.channels };
}

/** A list of words becomes the comma list the variable takes; structures become the JSON it takes. */
function asVariable(v: unknown): string {
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

function checkUnique(file: string, list: Environment[]): void {
  const names = new Set<string>();
  const bound = new Map<string, string>();
  for (const e of list) {
    if (names.has(e.name)) fail(file, `two environments are named "${e.name}"`, 'Give each environment its own name.');
    names.add(e.name);
    for (const channel of e.channels) {
      const other = bound.get(channel);
      if (other) fail(file, `channel ${channel} is bound to both "${other}" and "${e.name}"`, 'Bind a channel to one environment; use --env for the other.');
      bound.set(channel, e.name);
    }
  }
}

function withoutDatabase(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { JOB_QUEUE_DATABASE_URL: _a, DATABASE_URL: _b, JOB_QUEUE_READ_DATABASE_URL: _c, JOBQ_CONFIG: _d, ...rest } = env;
  return rest;
}

function readFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(
      file,
      code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? 'error'})`,
      'Point JOBQ_CONFIG at the environments file, or unset it to use the variables alone.',
    );
  }
}

/** YAML or JSON (JSON is YAML): the extension does not matter. */
function parseFile(file: string, text: string): unknown {
  // Loaded only when a file is configured: a single-database start does not pay for the parser.
  const { parse } = requireYaml();
  try {
    return parse(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    const line = (error as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    const reason = ((error as Error).message.split('\n')[0] ?? 'not YAML or JSON').replace(/ at line \d+, column \d+:?$/, '');
    return fail(file, `${line ? `line ${line.line}, column ${line.col}: ` : ''}${reason}`, 'Fix the syntax (YAML or JSON).');
  }
}

function pathText(path: PropertyKey[], raw: unknown): string {
  let text = '';
  let node: unknown = raw;
  for (const p of path) {
    if (typeof p === 'number') {
      const name = (node as unknown[] | undefined)?.[p] as { name?: unknown } | undefined;
      text += `[${p}]${typeof name?.name === 'string' ? ` "${name.name}"` : ''}`;
    } else text += `${text ? '.' : ''}${String(p)}`;
    node = (node as Record<PropertyKey, unknown> | undefined)?.[p];
  }
  return text || '(top level)';
}

function fail(file: string, problem: string, hint: string): never {
  throw new JobqError('config_invalid', `Invalid configuration in JOBQ_CONFIG (${file}): ${problem}.`, { hint, runbookSection: 'several-databases' });
}

const requireYaml = () => createRequire(import.meta.url)('yaml') as typeof import('yaml');
