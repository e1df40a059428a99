import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST } from '../alerts/harness.js';
import { startTestBot, type BotBundle } from '../helpers/bot.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { factories, type Factories } from '../helpers/factories.js';
import { type Prometheus, promtool, startPrometheus, until } from './prometheus.js';

const path = (relative: string) => fileURLToPath(new URL(`../../${relative}`, import.meta.url));
const RULES = path('docs/prometheus/jobq-rules.yml');
const DASHBOARD = path('docs/grafana/jobq-dashboard.json');

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

/** Every PromQL expression of the dashboard, with Grafana's variables as "All" and a rate window. */
function dashboardExpressions(): { panel: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: { name: string; allValue?: string }[] } };
  const all = new Map(dashboard.templating.list.filter((v) => v.allValue).map((v) => [v.name, v.allValue!]));
  const substitute = (expr: string) =>
    expr
      .replaceAll('$__rate_interval', '1m')
      .replaceAll('$__interval', '15s')
      .replaceAll('$__range', '5m')
      .replace(/\$(\w+)/g, (whole, name: string) => all.get(name) ?? whole);
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: substitute(t.expr) })));
}

/**
 * The dashboard and the alerting rules in a real Prometheus (Debian's package): it scrapes a
 * real bot (over the Slack emulator, on a 3.10 fixture database with a backlog, a paused queue, a
 * stalled job and no live worker) every second, and every expression is evaluated through its
 * HTTP API.
 */
describe('the Grafana dashboard and the Prometheus rules against a real Prometheus', () => {
  let db: TestDb;
  let f: Factories;
  let b: BotBundle;
  let prometheus: Prometheus | undefined;

  beforeAll(async () => {
    db = await createTestDb('v310');
    f = factories(db.worker, 'v310');
    const waiting = await f.job({ queue: 'emails' });
    await f.age(waiting, 3_600);
    // 3.10 records when a job was deferred on the job itself.
    await db.worker.query(`UPDATE procrastinate_jobs SET deferred_at = deferred_at - interval '1 hour' WHERE id = $1`, [waiting]);
    await f.jobs(3, { queue: 'emails', status: 'succeeded' });
    // Known from the start, so Prometheus sees its series at zero before its first events.
    await f.jobs(1, { queue: 'default', status: 'succeeded' });
    await f.jobs(2, { queue: 'reports' });
    await f.pause('reports', 'ops');
    await db.worker.query(`UPDATE procrastinate_paused_queues SET paused_at = now() - interval '2 hours'`);
    const gone = await f.worker(600);
    await f.job({ queue: 'reports', status: 'doing', workerId: gone });
    b = await startTestBot(db, { ...FAST, JOBQ_ALERTS_DISABLED: '', JOBQ_METRICS_INTERVAL_SECONDS: '0.5' });
    // The first health alert Slack refuses: an error to chart.
    b.slack.faults.next('chat.postMessage', { error: 'not_in_channel' });
    await until('the first collection', async () => b.bot.collector?.tally.cursor !== null);
    prometheus = await startPrometheus({ target: new URL(b.slack.botUrl!).host, ruleFiles: [RULES] });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await b?.close();
    await db?.drop();
  });

  const hasData = async (expr: string) => ((await prometheus!.query(expr)).data?.result.length ?? 0) > 0;

  it('scrapes jobq, then every dashboard panel and every rule evaluates with data', async () => {
    await until('two scrapes of jobq', () => hasData('count_over_time(procrastinate_jobs{queue="emails",status="todo"}[1m]) >= 2'));

    // Activity between scrapes, so that rates, ratios and quantiles have increases to work on.
    for (let i = 0; i < 6; i++) {
      await f.job({ queue: 'default', task: 'app.send' });
      const id = (await f.fetch(['default']))!;
      await db.worker.query(`UPDATE procrastinate_events SET at = at - make_interval(secs => $2) WHERE job_id = $1 AND type = 'started'`, [id, 2 + i * 10]);
      await f.finish(id, i % 3 === 0 ? 'failed' : 'succeeded');
    }
    await until('the new events in Prometheus', () => hasData('increase(procrastinate_job_events_total{queue="default",type="succeeded"}[1m]) > 0'), 30_000);
    // A series starts with its first request; a second round of requests makes it grow.
    const commands = async () => {
      await b.slack.slashCommand({ text: 'stats', userId: 'U_OPERATOR', channelId: 'C_OPS' });
      await b.slack.slashCommand({ text: 'frobnicate', userId: 'U_OPERATOR', channelId: 'C_OPS' });
    };
    await commands();
    await until('the commands in Prometheus', () => hasData('count_over_time(jobq_command_duration_seconds_count{outcome="usage"}[1m])'), 30_000);
    await commands();
    await until('more commands in Prometheus', () => hasData('increase(jobq_command_duration_seconds_count{outcome="usage"}[1m]) > 0'), 30_000);
    await until('the Slack error in Prometheus', () => hasData('count_over_time(jobq_slack_api_errors_total{error="not_in_channel"}[1m]) >= 2'), 30_000);

    const expressions = dashboardExpressions();
    expect(expressions.length).toBeGreaterThanOrEqual(25);
    const empty: string[] = [];
    for (const { panel, expr } of expressions) {
      const result = await prometheus!.query(expr);
      expect(result.status, `${panel}: ${expr}\n${result.error ?? ''}`).toBe('success');
      if (!result.data?.result.length) empty.push(`${panel}: ${expr}`);
    }
    expect(empty, 'panels without data').toEqual([]);

    // Values a person would read off the dashboard.
    const value = async (expr: string) => Number((await prometheus!.query(expr)).data!.result[0]!.value[1]);
    expect(await value('max(procrastinate_queue_oldest_todo_age_seconds{queue="emails"})')).toBeGreaterThanOrEqual(3_600);
    expect(await value('max(procrastinate_stalled_jobs{queue="reports"})')).toBe(1);
    expect(await value('max(procrastinate_queue_paused{queue="reports"})')).toBe(1);
    expect(await value('max(procrastinate_job_duration_seconds_count{queue="default"})')).toBe(6);
    expect(await value('max(procrastinate_job_duration_seconds_bucket{queue="default",le="10"})')).toBe(1); // the one that ran 2 s

    // The rules: loaded, evaluated without error, and the fixture's trouble makes them fire.
    const loaded = await until('every rule evaluated', async () => {
      const rules = await prometheus!.rules();
      return rules.length > 0 && rules.every((r) => r.lastEvaluation && !r.lastEvaluation.startsWith('0001')) ? rules : undefined;
    });
    expect(loaded.map((r) => r.name).sort()).toEqual([
      'JobqDatabaseUnreachable',
      'JobqMetricsStale',
      'ProcrastinateBacklogTooLarge',
      'ProcrastinateBacklogTooOld',
      'ProcrastinateNoLiveWorkers',
      'ProcrastinateQueuePausedLong',
      'ProcrastinateStalledJobs',
    ]);
    const triggered: string[] = [];
    for (const rule of loaded) {
      expect(rule.health, `${rule.name}: ${rule.lastError ?? ''}`).toBe('ok');
      const result = await prometheus!.query(rule.query);
      expect(result.status, `${rule.name}: ${rule.query}\n${result.error ?? ''}`).toBe('success');
      if (result.data?.result.length) triggered.push(rule.name);
    }
    expect(triggered.sort()).toEqual(['ProcrastinateBacklogTooOld', 'ProcrastinateNoLiveWorkers', 'ProcrastinateQueuePausedLong', 'ProcrastinateStalledJobs']);
    const states = new Map((await prometheus!.rules()).map((r) => [r.name, r.state]));
    expect(states.get('ProcrastinateQueuePausedLong')).toBe('firing'); // no `for`
    expect(['pending', 'firing']).toContain(states.get('ProcrastinateStalledJobs'));
    expect(states.get('JobqDatabaseUnreachable')).toBe('inactive');
  }, 90_000);

  it('promtool accepts the rules file and the exposition', async () => {
    const rules = promtool(['check', 'rules', RULES]);
    expect(rules.status, rules.output).toBe(0);
    expect(rules.output).toContain('SUCCESS: 7 rules found');
    const exposition = await (await fetch(`${b.slack.botUrl}/metrics`)).text();
    // Its only complaints are about three gauges of prom-client's default Node.js metrics.
    const complaints = promtool(['check', 'metrics'], exposition).output.split('\n').filter(Boolean);
    expect(complaints.filter((line) => !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(line))).toEqual([]);
  });
});
