import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, DEFINITIONS } from '../../src/commands/definitions.js';
import { parseCommand } from '../../src/commands/parse.js';
import { checkHomeView, checkMessage } from '../../src/emulator/limits.js';
import { takeEnvFlag } from '../../src/environments/choose.js';
import { JobqError } from '../../src/errors.js';
import type { AuditEntry } from '../../src/queue/audit.js';
import type { CancelResult } from '../../src/queue/cancel.js';
import type { DoctorReport } from '../../src/queue/doctor.js';
import type { FailedPage } from '../../src/queue/failed.js';
import type { Overview } from '../../src/queue/overview.js';
import type { RetryResult } from '../../src/queue/retry.js';
import type { GroupStats, StatsResult } from '../../src/queue/stats.js';
import type { WorkersResult } from '../../src/queue/workers.js';
import { auditSentence } from '../../src/render/audit-sentence.js';
import { agoToken, dateElement, dateToken } from '../../src/render/blocks/dates.js';
import { failureAlertBlocks } from '../../src/render/blocks/alerts.js';
import { homeView } from '../../src/render/blocks/home.js';
import { failedBlocks, statsBlocks, workersBlocks } from '../../src/render/blocks/reads.js';
import { auditBlocks, errorBlocks } from '../../src/render/blocks/writes.js';
import { logsUrl } from '../../src/render/logs.js';
import { RUNBOOK_TITLES } from '../../src/render/runbook.js';
import { helpText } from '../../src/render/text/help.js';
import { doctorSummary, doctorText } from '../../src/render/text/reads.js';
import { fitTable, paint, PLAIN, visibleLength, wrapText } from '../../src/render/text/style.js';
import { auditText, cancelText, retryText } from '../../src/render/text/writes.js';
import { localTime, relativeTime } from '../../src/render/time.js';
import { RUNBOOK_SECTIONS } from '../../src/runbook-sections.js';
import { nearest } from '../../src/suggest.js';

const options = { runbookBase: 'https://git.example.com/ops/docs/runbooks/job-queue.md' };
const NOW = Date.parse('2026-11-30T09:21:01Z');
const iso = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000).toISOString();

type Block = { type: string; rows?: Cell[][]; elements?: { action_id?: string; value?: string; url?: string; type?: string }[]; text?: { text: string } };
type Cell = { type: string; text?: string; elements?: { elements: { type: string; name?: string; text?: string; style?: { bold?: boolean }; url?: string }[] }[] };

const tablesOf = (m: { blocks: unknown[] }) => (m.blocks as Block[]).filter((b) => b.type === 'table');
const cellText = (c: Cell) => (c.type === 'raw_text' ? c.text! : c.elements!.flatMap((s) => s.elements.map((e) => e.text ?? (e.name ? `:${e.name}:` : ''))).join(''));

/** Slack's limits as the emulator enforces them (rows, cells, one table, section sizes, buttons). */
function assertSlackAccepts(m: { text: string; blocks: unknown[] }): void {
  expect(checkMessage(m)).toBeUndefined();
  expect(m.blocks.length).toBeLessThanOrEqual(50);
  expect(m.text.length).toBeGreaterThan(0);
  // A date token in a raw_text cell would show literally: dates go in rich_text cells.
  for (const table of tablesOf(m)) for (const row of table.rows!) for (const cell of row) if (cell.type === 'raw_text') expect(cell.text).not.toMatch(/<!date/);
}

function group(name: string, over: Partial<GroupStats> = {}): GroupStats {
  return {
    name,
    counts: { todo: 1, doing: 0, succeeded: 10, failed: 0, cancelled: 0, aborted: 0 },
    estimated: [],
    counted: [],
    margins: {},
    oldestTodoAgeSeconds: 5,
    paused: null,
    recent: { lastHour: { succeeded: 10, failed: 0 }, last24h: { succeeded: 100, failed: 0 } },
    ...over,
  };
}

function stats(queues: GroupStats[], workers: StatsResult['workers'] = { live: 2, total: 2 }): StatsResult {
  const counts = { todo: 0, doing: 0, succeeded: 0, failed: 0, cancelled: 0, aborted: 0 };
  for (const q of queues) for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] += q.counts[k];
  return {
    groupBy: 'queue',
    queues,
    totals: { counts, estimated: [], counted: [], margins: {} },
    countMethod: { kind: 'exact' },
    recentEstimated: false,
    workers,
    generatedAt: new Date().toISOString(),
  };
}

const failing = (name: string) =>
  group(name, {
    counts: { todo: 3, doing: 1, succeeded: 5, failed: 7, cancelled: 0, aborted: 0 },
    recent: { lastHour: { succeeded: 1, failed: 3 }, last24h: { succeeded: 9, failed: 7 } },
  });

describe('Slack tables: stats, failed, workers', () => {
  it('shows stats as one table within its limits, failures and old backlogs marked, the worst first when not all fit', () => {
    const queues = [...Array.from({ length: 150 }, (_, i) => group(`q${String(i).padStart(3, '0')}`)), failing('zz-payments'), group('zz-old', { oldestTodoAgeSeconds: 3_600 })];
    const m = statsBlocks(stats(queues, { live: 0, total: 2 }), options);
    assertSlackAccepts(m);
    const [table] = tablesOf(m);
    expect(tablesOf(m)).toHaveLength(1);
    expect(table!.rows!.length).toBeLessThanOrEqual(100);
    for (const row of table!.rows!) expect(row.length).toBeLessThanOrEqual(20);
    const names = table!.rows!.map((r) => cellText(r[0]!));
    expect(names.find((n) => n.includes('zz-payments'))).toBe(':red_circle: zz-payments');
    expect(names.find((n) => n.includes('zz-old'))).toBe(':warning: zz-old');
    expect(names.at(-1)).toBe('All queues');
    const payments = table!.rows!.find((r) => cellText(r[0]!).includes('zz-payments'))!;
    expect(payments[3]!.elements![0]!.elements[0]).toMatchObject({ text: '7', style: { bold: true } });
    const json = JSON.stringify(m.blocks);
    expect(json).toContain('more queues not shown');
    expect(json).toContain(':red_circle: *Workers:* 0 live of 2');
    expect(m.text).toContain('failing in the last hour: zz-payments');
  });

  it('lists failed jobs as a table: total, dates in rich-text cells, a Logs link and a Details button per row', () => {
    const page: FailedPage = {
      jobs: Array.from({ length: 20 }, (_, i) => ({
        id: 500 - i,
        queue: 'emails',
        task: 'app.send email',
        attempts: 2,
        failedAt: iso(240 + i),
        argsPreview: '{"to": "a@example.com"}',
      })),
      nextCursor: 481,
      scanned: { fromId: 1, toId: 500 },
    };
    const logsUrlTemplate = 'https://logs.example.com/search?q=job%3D{job_id}%20task%3D{task}&from={failed_at}';
    const m = failedBlocks(page, { queue: 'emails' }, { ...options, logsUrlTemplate }, { total: { count: 1234, estimated: false } });
    assertSlackAccepts(m);
    const [table] = tablesOf(m);
    expect(table!.rows).toHaveLength(21);
    const first = table!.rows![1]!;
    expect(cellText(first[0]!)).toBe('#500');
    expect(first[4]!.elements![0]!.elements[0]).toMatchObject({ type: 'date', format: '{date_short_pretty} {time}' });
    expect(cellText(first[4]!)).toMatch(/\(4 min ago\)/);
    const logs = first[6]!.elements![0]!.elements[0]!;
    expect(logs).toMatchObject({ type: 'link', text: 'Logs' });
    expect(logs.url).toBe(`https://logs.example.com/search?q=job%3D500%20task%3Dapp.send%20email&from=${encodeURIComponent(page.jobs[0]!.failedAt!)}`);
    const details = (m.blocks as Block[]).flatMap((b) => b.elements ?? []).filter((e) => e.action_id === 'job_details');
    expect(details.map((d) => Number(d.value))).toEqual(page.jobs.map((j) => j.id));
    expect(JSON.stringify(m.blocks)).toContain('Failed jobs: 1,234');
    expect((m.blocks as Block[]).flatMap((b) => b.elements ?? []).map((e) => e.action_id)).toEqual(expect.arrayContaining(['failed_retry', 'failed_next']));
    expect(m.text).toMatch(/^1,234 failed jobs; 20 shown/);
  });

  it('never calls a list an all-clear when a filter name looks mistyped', () => {
    const empty: FailedPage = { jobs: [], nextCursor: null, scanned: { fromId: 0, toId: 0 } };
    const plain = JSON.stringify(failedBlocks(empty, {}, options).blocks);
    expect(plain).toContain(':tada:');
    const noted = JSON.stringify(
      failedBlocks(empty, { task: 'app.sned' }, options, { note: 'Task `app.sned` is not among the tasks of the newest 5,000 jobs; a similar one is `app.send`.' }).blocks,
    );
    expect(noted).not.toContain(':tada:');
    expect(noted).toContain('a similar one is `app.send`');
  });

  it('shows workers as a table, stale ones in bold with a red dot and their age', () => {
    const result: WorkersResult = {
      workers: [
        { id: 1, lastHeartbeat: iso(3), heartbeatAgeSeconds: 3, alive: true, jobs: 2 },
        { id: 2, lastHeartbeat: iso(600), heartbeatAgeSeconds: 600, alive: false, jobs: 1 },
      ],
      live: 1,
      stale: 1,
      staleAfterSeconds: 30,
      truncated: false,
    };
    const m = workersBlocks(result, options);
    assertSlackAccepts(m);
    const rows = tablesOf(m)[0]!.rows!;
    expect(cellText(rows[2]![1]!)).toBe(':red_circle: stale');
    expect(rows[2]![1]!.elements![0]!.elements[1]).toMatchObject({ style: { bold: true } });
    expect(cellText(rows[2]![2]!)).toContain('(10 min ago)');
    expect(rows[2]![2]!.elements![0]!.elements[0]).toMatchObject({ type: 'date' });
  });
});

describe('dates and times', () => {
  it('gives Slack date tokens with a UTC fallback, and rich-text date elements', () => {
    expect(dateToken('2026-11-30T09:21:01.821Z')).toBe('<!date^1796030461^{date_short_pretty} {time}|2026-11-30 09:21 UTC>');
    expect(agoToken('2026-11-30T09:17:01Z', NOW)).toBe('<!date^1796030221^{ago}|4 min ago>');
    expect(dateElement('2026-11-30T09:21:01Z', '{time}')).toEqual({ type: 'date', timestamp: 1796030461, format: '{time}', fallback: '2026-11-30 09:21 UTC' });
  });

  it('gives terminals one format: local time with its offset, and relative ages', () => {
    const at = '2026-11-30T09:21:01.821Z';
    const d = new Date(at);
    const offset = -d.getTimezoneOffset();
    expect(localTime(at)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d$/);
    expect(localTime(at).endsWith(`${offset < 0 ? '-' : '+'}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}:${String(Math.abs(offset) % 60).padStart(2, '0')}`)).toBe(
      true,
    );
    expect(relativeTime('2026-11-30T09:17:01Z', NOW)).toBe('4 min ago');
    expect(relativeTime('2026-11-30T07:11:01Z', NOW)).toBe('2 h 10 min ago');
    expect(relativeTime('2026-11-30T11:21:01Z', NOW)).toBe('in 2 h');
    expect(relativeTime('2026-11-30T09:21:00Z', NOW)).toBe('just now');
  });
});

describe('terminal tables', () => {
  const columns = [
    { header: 'NAME', minWidth: 10 },
    { header: 'COUNT', align: 'right' as const },
    { header: 'NOTE', drop: 1, minWidth: 6 },
    { header: 'EXTRA', drop: 0 },
  ];
  const rows = [['a-very-long-queue-name-indeed', '12', 'n'.repeat(40), 'e'.repeat(30)]];

  it('fits the width: cuts the shrinkable columns, then drops the least useful, never the name', () => {
    const cut = fitTable(columns, rows, { ...PLAIN, columns: 60 });
    for (const line of cut.split('\n')) expect(visibleLength(line)).toBeLessThanOrEqual(60);
    expect(cut).toContain('EXTRA');
    expect(cut).toContain('nnnnn…');
    const out = fitTable(columns, rows, { ...PLAIN, columns: 40 });
    for (const line of out.split('\n')) expect(visibleLength(line)).toBeLessThanOrEqual(40);
    expect(out).not.toContain('EXTRA');
    expect(out).toContain('NOTE');
    expect(out).toContain('left out to fit 40 columns: extra');
    const narrow = fitTable(columns, rows, { ...PLAIN, columns: 24 });
    expect(narrow).toMatch(/^NAME/);
    expect(narrow).toContain('a-very-l');
  });

  it('keeps every column when piped, and colours only when asked', () => {
    const out = fitTable(columns, [[{ text: 'x', paint: ['red'] }, '1', 'n', 'e']], PLAIN);
    expect(out).toContain('EXTRA');
    expect(out).not.toContain('\u001b[');
    expect(paint({ ...PLAIN, color: true }, 'x', 'red', 'bold')).toBe('\u001b[1m\u001b[31mx\u001b[39m\u001b[22m');
    expect(
      wrapText(`  ${'word '.repeat(30)}`, 40)
        .split('\n')
        .every((l) => l.length <= 40),
    ).toBe(true);
  });
});

describe('the audit as sentences', () => {
  const entry = (over: Partial<AuditEntry>): AuditEntry => ({
    id: 7,
    at: '2026-11-30T09:21:01Z',
    finishedAt: null,
    actor: { kind: 'slack', id: 'U123ABC', name: 'alice' },
    action: 'retry_all',
    filters: {},
    jobCount: 0,
    outcome: 'ok',
    message: null,
    ...over,
  });

  it('says who did what to which jobs, without tokens, UUIDs or JSON', () => {
    const retried = entry({
      jobCount: 13,
      filters: { queue: 'emails', task: null, failedSince: '2026-11-30T07:21:01Z', failedBefore: null, previewTotal: 13, previewExact: true, previewToken: 'f'.repeat(64) },
    });
    expect(auditSentence(retried)).toEqual({ did: 'retried 13 failed jobs in `emails` (since 2h)', outcome: 'done', bad: false });
    const click = entry({
      outcome: 'refused',
      filters: { confirmation: '0b8e8c1e-3c57-4a8e-9d0f-8e6c1b2a3f4d', click: 'confirm' },
      message: 'This preview expired: run the command again for a fresh one.',
    });
    expect(auditSentence(click)).toEqual({ did: 'confirmed a retry-all preview', outcome: 'refused: This preview expired: run the command again for a fresh one.', bad: true });
    expect(auditSentence(entry({ action: 'purge', jobCount: 120, filters: { olderThanSeconds: 129_600, queue: null } })).did).toBe('purged 120 finished jobs older than 36h');
    expect(auditSentence(entry({ action: 'mute', filters: { target: 'emails', seconds: 7_200, reason: 'deploy' } })).did).toBe('muted `emails` for 2h ("deploy")');
    expect(auditSentence(entry({ action: 'cancel', outcome: 'refused', filters: { jobId: 5 }, message: 'Job 5 is `succeeded`: it has finished. More.' })).outcome).toBe(
      'refused: Job 5 is `succeeded`: it has finished.',
    );

    const page = { entries: [retried, click], nextCursor: null };
    const m = auditBlocks(page, options);
    assertSlackAccepts(m);
    const text = JSON.stringify(m.blocks);
    expect(text).toContain('<@U123ABC> retried 13 failed jobs in `emails` (since 2h) · <!date^1796030461^{ago}|');
    expect(text).not.toMatch(/0b8e8c1e|f{64}|previewToken|\{\\"/);
    const terminal = auditText(page);
    expect(terminal).toContain('@alice retried 13 failed jobs in emails (since 2h) · done');
    expect(terminal).not.toMatch(/0b8e8c1e|\{"/);
  });
});

describe('right words', () => {
  const retry = (over: Partial<RetryResult>): RetryResult => ({
    jobId: 9,
    queue: 'q',
    task: 't',
    previousStatus: 'failed',
    status: 'todo',
    attempts: 2,
    method: 'retry_job_v2',
    stalled: null,
    auditId: 1,
    ...over,
  });

  it('names the run a retry starts: the 2nd for a job that ran once', () => {
    expect(retryText(retry({}))).toContain('its 2nd run starts when a worker is free');
    // A stalled job's run never ended: Procrastinate counted the retry, not the run.
    expect(retryText(retry({ previousStatus: 'doing', attempts: 1, stalled: 'its worker 3 is gone' }))).toContain('its 2nd run starts');
    expect(retryText(retry({ attempts: 11 }))).toContain('its 11th run');
  });

  it('says what cancel does when the worker is gone', () => {
    const base: CancelResult = { jobId: 4, queue: 'q', task: 't', previousStatus: 'doing', outcome: 'abort_requested', auditId: 1 };
    expect(cancelText({ ...base, workerGone: null })).toContain('its worker was asked to abort it');
    const gone = cancelText({ ...base, workerGone: 'its worker 3 is gone' });
    expect(gone).toContain('no worker will act on it: its worker 3 is gone');
    expect(gone).not.toContain('was asked to abort');
  });

  it('sums doctor up with its warnings, never "No problems found" while something is wrong', () => {
    const report = {
      problems: [],
      warnings: [
        { code: 'no_live_worker', message: 'No live worker.' },
        { code: 'stalled_jobs', message: '3 stalled.' },
      ],
    } as unknown as DoctorReport;
    expect(doctorSummary(report)).toBe('No problems, 2 warnings.');
    expect(doctorSummary({ ...report, problems: ['x'] })).toBe('1 problem, 2 warnings.');
    expect(doctorSummary({ ...report, warnings: [] })).toBe('No problems found.');
  });

  it('labels every runbook link with its section, and the titles match the runbook headings', () => {
    const headings = readFileSync(new URL('../../docs/runbooks/job-queue.md', import.meta.url), 'utf8')
      .match(/^## .+$/gm)!
      .map((h) => h.slice(3));
    for (const slug of RUNBOOK_SECTIONS) expect(headings).toContain(RUNBOOK_TITLES[slug]);
    const m = errorBlocks(new JobqError('wrong_status', 'x', { runbookSection: 'retrying-jobs-safely' }), options);
    expect(JSON.stringify(m.blocks)).toContain('#retrying-jobs-safely|Retrying jobs safely>');
  });

  it('links a failure alert to the logs of its jobs', () => {
    const view = { queue: 'emails', task: 'app.send', total: 5, firstFailedAt: iso(120), lastFailedAt: iso(10), sampleJobIds: [11, 12] };
    const m = failureAlertBlocks(view, { ...options, logsUrlTemplate: 'https://logs.example.com/?job={job_id}' });
    assertSlackAccepts(m);
    const json = JSON.stringify(m.blocks);
    expect(json).toContain('<https://logs.example.com/?job=11|#11>, <https://logs.example.com/?job=12|#12> and 3 more');
    expect((m.blocks as Block[]).flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'logs_link')?.url).toBe('https://logs.example.com/?job=12');
    expect(JSON.stringify(failureAlertBlocks(view, options).blocks)).not.toContain('logs_link');
  });

  it('builds the Logs link from the template, every value URL-encoded', () => {
    expect(logsUrl(undefined, { id: 1, task: 't', queue: 'q' })).toBeNull();
    expect(
      logsUrl('https://sentry.example.com/?query=job_id:{job_id} queue:{queue}&t={failed_at}', { id: 42, task: 'a&b', queue: 'e mails', failedAt: '2026-11-30T09:21:01Z' }),
    ).toBe('https://sentry.example.com/?query=job_id:42 queue:e%20mails&t=2026-11-30T09%3A21%3A01.000Z');
  });
});

describe('did you mean', () => {
  const usage = (tokens: string[]) => {
    try {
      parseCommand(tokens);
    } catch (error) {
      return (error as JobqError).message;
    }
    return expect.fail(`${tokens.join(' ')} parsed`);
  };

  it('suggests the nearest command and option', () => {
    expect(usage(['retyr', '5'])).toMatch(/^Unknown command "retyr". Did you mean `retry`\?/);
    expect(usage(['failed', '--queu', 'emails'])).toMatch(/Unknown option --queu for `failed`. Did you mean --queue\?/);
    expect(usage(['help', 'stast'])).toMatch(/Did you mean `stats`\?/);
    expect(usage(['frobnicate'])).not.toMatch(/Did you mean/);
    expect(nearest('emial', ['emails', 'reports'])).toBe('emails');
    expect(nearest('billing', ['emails', 'reports'])).toBeNull();
  });

  it('takes purge ages as durations, a bare number still meaning days', () => {
    expect(parseCommand(['purge', '--older-than', '36h'])).toMatchObject({ olderThanSeconds: 36 * 3600 });
    expect(parseCommand(['purge', '--older-than', '30'])).toMatchObject({ olderThanSeconds: 30 * 86400 });
    expect(parseCommand(['purge', '--older-than', '30d'])).toMatchObject({ olderThanSeconds: 30 * 86400 });
    expect(usage(['purge', '--older-than', '30s'])).toMatch(/at least 1m/);
  });

  it('describes every option of every command, with an example', () => {
    for (const name of COMMAND_NAMES) {
      const d = DEFINITIONS[name];
      expect(Object.keys(d.flags).sort(), name).toEqual(Object.keys(d.options).sort());
      expect(d.examples.length, name).toBeGreaterThan(0);
      // Both fronts take --env before the command's own parser sees the words.
      for (const example of d.examples) {
        expect(() => parseCommand(takeEnvFlag(example.split(' ')).rest), example).not.toThrow();
      }
      const help = helpText(name, 'jobq');
      for (const option of Object.keys(d.options)) expect(help, name).toMatch(new RegExp(`--${option}\\b.*\\S`));
      expect(help).toMatch(/Examples:/);
    }
  });
});

describe('the App Home', () => {
  const overview = (queues: GroupStats[], over: Partial<Overview> = {}): Overview => ({
    stats: stats(queues),
    source: { kind: 'primary' },
    stalled: { byQueue: { stuck: 2 }, total: 2, truncated: false },
    alerts: [{ alert: 'backlog', summary: 'Backlog in queue `emails`', startedAt: iso(300), channel: 'C_ALERTS', ts: '1.2' }],
    mutes: [],
    canPause: true,
    ...over,
  });

  it('fits 100 blocks with no table, the queues needing a look first, change buttons only for writers', () => {
    const queues = [...Array.from({ length: 200 }, (_, i) => group(`q${String(i).padStart(3, '0')}`)), failing('zz-payments'), group('stuck')];
    const writer = homeView(overview(queues), { canWrite: true }, options);
    expect(checkHomeView(writer)).toBeUndefined();
    expect(writer.blocks.length).toBeLessThanOrEqual(100);
    const text = JSON.stringify(writer.blocks);
    expect(text).not.toContain('"type":"table"');
    expect(text.indexOf('zz-payments')).toBeLessThan(text.indexOf('q000'));
    expect(text.indexOf('*stuck*')).toBeLessThan(text.indexOf('q000'));
    expect(text).toContain('more queues, all healthy or less urgent');
    expect(text).toContain('Backlog in queue `emails` · since <!date^');
    expect(text).toContain('home_retry');
    expect(text).toContain('home_pause');
    const reader = JSON.stringify(homeView(overview(queues), { canWrite: false }, options).blocks);
    expect(reader).not.toContain('home_retry');
    expect(reader).not.toContain('home_pause');
    expect(reader).toContain('home_failed');
  });
});

describe('doctor text', () => {
  it('ends with the warnings counted', () => {
    const report = {
      ok: true,
      connection: {
        latencyMs: { min: 1, median: 1, max: 1 },
        serverVersion: '16',
        tls: { ssl: false, version: null },
        serverPort: 5432,
        urlPort: null,
        pooler: null,
        replica: null,
      },
      procrastinate: { found: true, generation: '3.4+', features: [], error: null, schema: 'public', foundBy: 'search_path' },
      privileges: null,
      capabilities: [],
      grants: [],
      tables: [],
      indexes: { reliedOn: [], recommended: [] },
      warnings: [
        { code: 'no_live_worker', message: 'No live Procrastinate worker: none of the 2 registered sent a heartbeat.' },
        { code: 'stalled_jobs', message: '3 stalled job(s).' },
      ],
      problems: [],
    } as unknown as DoctorReport;
    expect(doctorText(report).split('\n').at(-1)).toBe('No problems, 2 warnings.');
  });
});
