import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnvironments } from '../../src/environments/config-file.js';
import { JobqError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'jobq-envs-'));
let n = 0;
const fileWith = (text: string, ext = 'yaml') => {
  const path = join(dir, `c${n++}.${ext}`);
  writeFileSync(path, text);
  return path;
};
const SECRET = 's3cr3t-pw';
const env = (file: string, extra: Record<string, string> = {}) => ({
  JOBQ_CONFIG: file,
  PROD_DB: `postgres://jobq:${SECRET}@db.prod:5432/billing`,
  STAGING_DB: `postgres://jobq:${SECRET}@db.staging:5432/billing`,
  JOBQ_WRITE_USERS: 'U_EVERYONE_DEFAULT',
  JOBQ_STALLED_RUNNING_SECONDS: '900',
  ...extra,
});
const problem = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(JobqError);
    expect((error as JobqError).code).toBe('config_invalid');
    const text = `${(error as JobqError).message} ${(error as JobqError).hint ?? ''}`;
    expect(text).not.toContain(SECRET);
    return text;
  }
  throw new Error('expected a configuration error');
};

const TWO = `
# billing's queues
environments:
  - name: prod
    databaseUrlEnv: PROD_DB
    channels: [C0BILLING]
    alertChannel: C0ALERTS
    writeUsers: [U_ONCALL1, U_ONCALL2]
    summarySchedules:
      - cron: "0 9 * * 1-5"
        timezone: Europe/Berlin
        channel: C0ALERTS
    queueThresholds:
      emails: { backlogMaxJobs: 50 }
  - name: staging
    databaseUrlEnv: STAGING_DB
    settings:
      JOBQ_STALLED_RUNNING_SECONDS: 60
`;

describe('the environments file (JOBQ_CONFIG)', () => {
  it('without a file, the variables are one environment named default, exactly as before', () => {
    const { list, file } = loadEnvironments({ JOB_QUEUE_DATABASE_URL: 'postgres://localhost/app', JOBQ_WRITE_USERS: 'U1' });
    expect(file).toBeNull();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 'default', channels: [] });
    expect(list[0]!.config.databaseUrl).toBe('postgres://localhost/app');
    expect(list[0]!.config.JOBQ_WRITE_USERS).toEqual(['U1']);
  });

  it('reads YAML: each environment its own database (from the named variable), channels and settings over the shared variables', () => {
    const { list } = loadEnvironments(env(fileWith(TWO)));
    expect(list.map((e) => e.name)).toEqual(['prod', 'staging']);
    const [prod, staging] = list as [(typeof list)[0], (typeof list)[0]];
    expect(prod.config.databaseUrl).toContain('db.prod');
    expect(staging.config.databaseUrl).toContain('db.staging');
    expect(prod.channels).toEqual(['C0BILLING']);
    expect(prod.config.JOBQ_ALERT_CHANNEL).toBe('C0ALERTS');
    expect(staging.config.JOBQ_ALERT_CHANNEL).toBeUndefined();
    expect(prod.config.JOBQ_WRITE_USERS).toEqual(['U_ONCALL1', 'U_ONCALL2']);
    expect(staging.config.JOBQ_WRITE_USERS).toEqual(['U_EVERYONE_DEFAULT']);
    expect(prod.config.JOBQ_SUMMARY_SCHEDULES).toEqual([{ cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', channel: 'C0ALERTS' }]);
    expect(prod.config.JOBQ_QUEUE_THRESHOLDS).toEqual({ emails: { backlogMaxJobs: 50 } });
    expect(prod.config.JOBQ_STALLED_RUNNING_SECONDS).toBe(900);
    expect(staging.config.JOBQ_STALLED_RUNNING_SECONDS).toBe(60);
  });

  it('reads JSON the same way', () => {
    const json = JSON.stringify({ environments: [{ name: 'emails', databaseUrlEnv: 'PROD_DB', readChannels: ['C0READ'] }] });
    const { list } = loadEnvironments(env(fileWith(json, 'json')));
    expect(list[0]!.config.JOBQ_READ_CHANNELS).toEqual(['C0READ']);
  });

  it.each([
    ['a missing file', () => env(join(dir, 'nope.yaml')), /nope\.yaml\): no such file/],
    ['a syntax error, with its line', () => env(fileWith('environments:\n  - name: prod\n   databaseUrlEnv: [')), /line \d+, column \d+/],
    [
      'an unknown key, by its path',
      () => env(fileWith('environments:\n  - name: prod\n    databaseUrlEnv: PROD_DB\n    alertChanel: C0ALERTS\n')),
      /environments\[0\] "prod": Unrecognized key.*alertChanel/,
    ],
    [
      'a URL in the file instead of a variable name',
      () => env(fileWith('environments:\n  - name: prod\n    databaseUrlEnv: "postgres://u:p@h/db"\n')),
      /environments\[0\] "prod"\.databaseUrlEnv: must be the name of an environment variable/,
    ],
    [
      'a variable that is not set',
      () => env(fileWith('environments:\n  - name: prod\n    databaseUrlEnv: NOT_SET_DB\n')),
      /"prod"\.databaseUrlEnv: the variable NOT_SET_DB is not set/,
    ],
    [
      'a variable that is not a postgres URL, without showing it',
      () => env(fileWith('environments:\n  - name: prod\n    databaseUrlEnv: BAD_DB\n'), { BAD_DB: `mysql://u:${SECRET}@h/db` }),
      /BAD_DB must hold a postgres:\/\//,
    ],
    [
      "a bad value, checked by its variable's rule",
      () => env(fileWith('environments:\n  - name: prod\n    databaseUrlEnv: PROD_DB\n    backlogMaxJobs: -3\n')),
      /"prod"\.backlogMaxJobs: .*(positive|greater than 0|>0)/i,
    ],
    [
      'a bad cron inside a schedule',
      () => env(fileWith('environments:\n  - name: prod\n    databaseUrlEnv: PROD_DB\n    summarySchedules: [{cron: "every day", channel: C0X}]\n')),
      /"prod"\.summarySchedules\[0\]\.cron: is not a valid cron expression/,
    ],
    [
      'a process-wide variable set for one environment',
      () => env(fileWith('environments:\n  - name: prod\n    databaseUrlEnv: PROD_DB\n    settings: { SLACK_BOT_TOKEN: xoxb-1 }\n')),
      /settings\.SLACK_BOT_TOKEN: applies to the whole process/,
    ],
    [
      'a setting jobq does not have',
      () => env(fileWith('environments:\n  - name: prod\n    databaseUrlEnv: PROD_DB\n    settings: { JOBQ_NOPE: 1 }\n')),
      /settings\.JOBQ_NOPE: jobq has no such setting/,
    ],
    [
      'two environments with one name',
      () => env(fileWith('environments:\n  - {name: prod, databaseUrlEnv: PROD_DB}\n  - {name: prod, databaseUrlEnv: STAGING_DB}\n')),
      /two environments are named "prod"/,
    ],
    [
      'one channel bound twice',
      () => env(fileWith('environments:\n  - {name: a, databaseUrlEnv: PROD_DB, channels: [C0OPS]}\n  - {name: b, databaseUrlEnv: STAGING_DB, channels: [C0OPS]}\n')),
      /channel C0OPS is bound to both "a" and "b"/,
    ],
    [
      'a channel name instead of an ID',
      () => env(fileWith('environments:\n  - {name: a, databaseUrlEnv: PROD_DB, channels: ["#ops"]}\n')),
      /"a"\.channels\[0\]: must be a Slack channel ID/,
    ],
    ['no environments', () => env(fileWith('environments: []\n')), /environments: needs at least one environment/],
  ])('names the file, the place and the fix for %s', (_what, make, expected) => {
    const e = make();
    const text = problem(() => loadEnvironments(e));
    expect(text).toContain(`JOBQ_CONFIG (${e.JOBQ_CONFIG})`);
    expect(text).toMatch(expected);
  });
});

describe("the README's example file", () => {
  it('loads as documented', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const example = /```yaml\n(# \/etc\/jobq\/environments\.yaml[\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const { list } = loadEnvironments({
      JOBQ_CONFIG: fileWith(example!),
      BILLING_DATABASE_URL: 'postgres://u:p@billing-db/billing',
      BILLING_REPLICA_URL: 'postgres://u:p@billing-replica/billing',
      STAGING_DATABASE_URL: 'postgres://u:p@staging-db/billing',
    });
    expect(list.map((e) => e.name)).toEqual(['billing', 'staging']);
    expect(list[0]!.config.JOB_QUEUE_READ_DATABASE_URL).toContain('billing-replica');
    expect(list[0]!.config.JOBQ_LOGS_URL_TEMPLATE).toContain('{job_id}');
    expect(list[0]!.config.JOBQ_STALLED_RUNNING_SECONDS).toBe(1800);
    expect(list[1]!.config.JOBQ_WRITE_USERS).toEqual(['U0ONCALL1', 'U0DEV1', 'U0DEV2']);
  });
});
