import type { Accuracy } from './accuracy.js';
import type { HealthCost, PollCost } from './alerts.js';
import type { PurgeComparison, RetryAllComparison } from './bulk.js';
import type { AppHomeResult, StormResult } from './concurrency.js';
import type { StatementCheck, Verdict } from './plans.js';
import type { ReadResult } from './reads.js';

export const SECTIONS = ['reads', 'accuracy', 'health', 'concurrency', 'purge', 'retry-all', 'alert-poll'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchReport {
  meta: {
    command: string;
    startedAt: string;
    jobs: number;
    shape: string;
    database: string;
    reused: boolean;
    machine: { cpus: number; memoryGiB: number; node: string; postgres: Record<string, string> };
    table: { jobs: number; events: number; pages: number; size: string; newestEventAgeHours: number };
    generation: { ms: number; size: string } | null;
  };
  sections: Section[];
  reads?: ReadResult[];
  plans: StatementCheck[];
  accuracy?: Accuracy;
  health?: HealthCost[];
  concurrency?: { storm: StormResult; appHome: AppHomeResult };
  purge?: PurgeComparison;
  retryAll?: RetryAllComparison;
  alertPoll?: PollCost[];
  rss: { peakMib: number; sections: Record<string, number> };
  targets: Target[];
}

export interface Target {
  name: string;
  target: string;
  measured: string;
  margin: string;
  verdict: Verdict;
}

const ms = (v: number | null | undefined) =>
  v === null || v === undefined || Number.isNaN(v) ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : v >= 1_000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`;
const n = (v: number) => v.toLocaleString('en-US');
const pct = (v: number) => `${v.toFixed(1)}%`;
/** How jobq paced a bulk change: where its batches settled, how many ran over, what made it back off. */
const pacingLine = (j: { pacing: { largestRows: number; finalRows: number; slowBatches: number; pauses: Record<string, { count: number; ms: number }> } }) => {
  const pauses = Object.entries(j.pacing.pauses)
    .filter(([, x]) => x.count > 0)
    .map(([why, x]) => `${why} ${x.count}x ${ms(x.ms)}`);
  return `jobq pacing: batches up to ${n(j.pacing.largestRows)} rows (last ${n(j.pacing.finalRows)}), ${j.pacing.slowBatches} over 100 ms; backed off: ${pauses.join(', ') || 'never'}`;
};
const methodText = (m: Accuracy['countMethod']) =>
  m.kind === 'sampled' ? `sampled ${m.samplePercent.toFixed(3)}%` : m.kind === 'counted' ? 'background count plus the jobs since' : 'exact';
const verdict = (ok: boolean): Verdict => (ok ? 'PASS' : 'MISS');

/** Issue 11's targets, each with what was measured and by how much it is met or missed. */
export function targets(r: BenchReport): Target[] {
  const out: Target[] = [];
  if (r.plans.length > 0) {
    const misses = r.plans.filter((p) => p.verdict === 'MISS');
    const worst = Math.max(...r.plans.map((p) => p.pages / p.budget.pages).filter((x) => !Number.isNaN(x)));
    out.push({
      name: 'index plans within page budgets',
      target: 'every statement: no Seq Scan of jobs/events, pages <= budget',
      measured: `${r.plans.length - misses.length} of ${r.plans.length} statements`,
      margin: `worst ${(worst * 100).toFixed(0)}% of its budget`,
      verdict: verdict(misses.length === 0),
    });
  }
  const storm = r.concurrency?.storm;
  if (storm) {
    out.push({
      name: `${storm.commands} commands at once: answered with results`,
      target: `${storm.commands} of ${storm.commands}`,
      measured: `${storm.withResults} of ${storm.commands}`,
      margin: `${storm.commands - storm.withResults} short`,
      verdict: verdict(storm.withResults === storm.commands),
    });
    out.push({ name: 'reply p99', target: '<= 3 s', measured: ms(storm.replyMs.p99), margin: ms(3_000 - storm.replyMs.p99), verdict: verdict(storm.replyMs.p99 <= 3_000) });
    out.push({
      name: 'acks',
      target: '< 3 s, every one',
      measured: `max ${ms(storm.ackMs.max)}, ${storm.lateAcks} late`,
      margin: ms(3_000 - storm.ackMs.max),
      verdict: verdict(storm.lateAcks === 0 && storm.ackMs.max < 3_000),
    });
  }
  if (r.accuracy) {
    out.push({
      name: 'rare statuses per queue vs truth',
      target: 'within 10% (failed, cancelled, aborted)',
      measured: `worst ${pct(r.accuracy.maxErrorPct)}, median ${pct(r.accuracy.medianErrorPct)}`,
      margin: `${(10 - r.accuracy.maxErrorPct).toFixed(1)} points`,
      verdict: verdict(r.accuracy.maxErrorPct <= 10),
    });
  }
  if (r.purge) {
    const ratio = r.purge.procrastinate.ms / r.purge.jobq.ms;
    out.push({
      name: 'purge vs delete_old_jobs',
      target: '>= 3x faster',
      measured: `${ratio.toFixed(2)}x`,
      margin: `${(ratio / 3).toFixed(2)} of target`,
      verdict: verdict(ratio >= 3),
    });
    out.push(fetchTarget('worker fetch p99 during purge', r.purge.idle.fetchMs.p99, r.purge.jobq.worker.fetchMs.p99));
  }
  if (r.retryAll) {
    const ratio = r.retryAll.jobq.ms / r.retryAll.plainUpdate.ms;
    out.push({
      name: 'retry-all vs plain UPDATE',
      target: '<= 2.5x its time',
      measured: `${ratio.toFixed(2)}x`,
      margin: `${(2.5 - ratio).toFixed(2)}x`,
      verdict: verdict(ratio <= 2.5),
    });
    out.push(fetchTarget('worker fetch p99 during retry-all', r.retryAll.idle.fetchMs.p99, r.retryAll.jobq.worker.fetchMs.p99));
  }
  const holds = [r.purge?.jobq.lockHold.maxMs, r.retryAll?.jobq.lockHold.maxMs].filter((v): v is number => v !== undefined);
  if (holds.length > 0) {
    const worst = Math.max(...holds);
    out.push({ name: 'lock hold per batch', target: '<= 100 ms', measured: `max ${ms(worst)}`, margin: ms(100 - worst), verdict: verdict(worst <= 100) });
  }
  return out;
}

function fetchTarget(name: string, idleP99: number, duringP99: number): Target {
  const ratio = duringP99 / idleP99;
  return {
    name,
    target: '<= 2x idle p99',
    measured: `${ms(duringP99)} (idle ${ms(idleP99)}, ${ratio.toFixed(2)}x)`,
    margin: `${(2 - ratio).toFixed(2)}x`,
    verdict: verdict(ratio <= 2),
  };
}

/** Columns padded to their widest cell. */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function renderReport(r: BenchReport): string {
  const out: string[] = [];
  const m = r.meta;
  out.push(
    `jobq benchmark: ${n(m.table.jobs)} jobs, ${n(m.table.events)} events (${m.table.size}, ${n(m.table.pages)} pages), schema ${m.shape}, database ${m.database}${m.reused ? ' (reused)' : ''}`,
    `machine: ${m.machine.cpus} cores, ${m.machine.memoryGiB} GiB, node ${m.machine.node}, PostgreSQL ${m.machine.postgres.server_version ?? '?'} (shared_buffers ${m.machine.postgres.shared_buffers}, work_mem ${m.machine.postgres.work_mem})`,
  );
  if (m.generation) out.push(`generated in ${ms(m.generation.ms)}`);
  if (m.table.newestEventAgeHours > 6)
    out.push(`WARNING: the newest event is ${m.table.newestEventAgeHours.toFixed(1)} h old: reads of the last 24 h see less than a live table would`);
  if (r.reads) {
    out.push('', 'READS (median; end to end = jobq in this process, process = a new `jobq` process; floor = its statements run alone)');
    out.push(
      table(
        ['read', 'end to end', 'process', 'SQL floor', 'stmts', 'what teams run instead'],
        r.reads.map((x) => [x.name, ms(x.endToEndMs), ms(x.processMs), ms(x.floorMs), String(x.statements), x.naive.map((q) => `${q.name} ${ms(q.ms)}`).join('; ') || '-']),
      ),
    );
  }
  if (r.plans.length > 0) {
    out.push('', 'PLANS (EXPLAIN ANALYZE, BUFFERS: pages touched vs budget)');
    out.push(
      table(
        ['owner', 'pages', 'budget', 'time', 'verdict', 'scans', 'statement'],
        r.plans.map((p) => [
          p.owner,
          Number.isNaN(p.pages) ? 'error' : n(p.pages),
          n(p.budget.pages),
          ms(p.executionMs),
          p.verdict,
          p.error ? p.error.slice(0, 60) : p.scans.join(', ').slice(0, 70),
          p.text.replace(/\s+/g, ' ').trim().slice(0, 70),
        ]),
      ),
    );
  }
  if (r.accuracy) {
    out.push('', `RARE STATUSES PER QUEUE (stats vs exact count; ${methodText(r.accuracy.countMethod)})`);
    out.push(
      table(
        ['queue', 'status', 'stats shows', 'exact', 'error', 'estimated'],
        r.accuracy.rare.map((e) => [e.queue, e.status, n(e.shown), n(e.exact), pct(e.errorPct), e.estimated ? 'yes' : 'no']),
      ),
    );
    if (r.accuracy.liveMismatches.length > 0)
      out.push(`todo/doing not exact: ${r.accuracy.liveMismatches.map((e) => `${e.queue} ${e.status} ${e.shown} vs ${e.exact}`).join(', ')}`);
    const before = r.accuracy.beforeCount;
    if (before) {
      out.push(
        `before the bot's first background count (${methodText(before.countMethod)}): worst ${pct(before.maxErrorPct)}, median ${pct(before.medianErrorPct)}, ` +
          `${before.outsideBounds} of ${before.rare.length} figures outside their printed ± bound; the first count took ${ms(r.accuracy.countMs)}`,
      );
    }
  }
  if (r.health) {
    out.push('', 'HEALTH CHECKS (median)');
    out.push(
      table(
        ['check', 'time', 'statements'],
        r.health.map((h) => [h.check, ms(h.ms), String(h.statements)]),
      ),
    );
  }
  if (r.concurrency) {
    const { storm: s, appHome: h } = r.concurrency;
    out.push('', `CONCURRENCY (${s.commands} slash commands at once through Bolt's receiver and the emulator; pool of ${s.poolMax})`);
    out.push(
      `answered with results ${s.withResults}/${s.commands}; acks p50 ${ms(s.ackMs.p50)} p99 ${ms(s.ackMs.p99)} max ${ms(s.ackMs.max)} (${s.lateAcks} late); replies p50 ${ms(s.replyMs.p50)} p99 ${ms(s.replyMs.p99)} max ${ms(s.replyMs.max)}; ${s.placeholders} placeholders; ${s.errorLogs} error logs`,
    );
    for (const [message, count] of Object.entries(s.errors)) out.push(`  ${count} x ${message}`);
    out.push(h.published ? `App Home: published in ${ms(h.ms)} (median), ${h.statements} statements` : `App Home: ${h.note}`);
  }
  if (r.purge) {
    const p = r.purge;
    out.push('', `PURGE older than ${p.olderThanDays} days (identical copies; a worker fetching alongside)`);
    out.push(
      table(
        ['', 'wall', 'rows', 'batches', 'lock hold', 'fetch p50', 'fetch p99', 'routine next day'],
        [
          ['idle worker', '-', '-', '-', '-', ms(p.idle.fetchMs.p50), ms(p.idle.fetchMs.p99), '-'],
          [
            'delete_old_jobs',
            ms(p.procrastinate.ms),
            n(p.procrastinate.rows),
            '1',
            ms(p.procrastinate.lockHoldMs),
            ms(p.procrastinate.worker.fetchMs.p50),
            ms(p.procrastinate.worker.fetchMs.p99),
            `${ms(p.routine.procrastinate.ms)} (${n(p.routine.procrastinate.rows)} rows)`,
          ],
          [
            'jobq purge',
            `${ms(p.jobq.ms)} (pauses ${ms(p.jobq.pausesMs)})`,
            n(p.jobq.rows),
            n(p.jobq.batches),
            `max ${ms(p.jobq.lockHold.maxMs)} p95 ${ms(p.jobq.lockHold.p95Ms)}`,
            ms(p.jobq.worker.fetchMs.p50),
            ms(p.jobq.worker.fetchMs.p99),
            `${ms(p.routine.jobq.ms)} (${n(p.routine.jobq.rows)} rows)`,
          ],
        ],
      ),
    );
    out.push(pacingLine(p.jobq));
    out.push(`preview ${ms(p.jobq.previewMs)}; left: delete_old_jobs ${JSON.stringify(p.left.procrastinate)}, jobq ${JSON.stringify(p.left.jobq)}`);
  }
  if (r.retryAll) {
    const x = r.retryAll;
    out.push('', `RETRY-ALL of ${n(x.failed)} failed jobs (identical copies; a worker fetching alongside)`);
    out.push(
      table(
        ['', 'wall', 'rows', 'batches', 'lock hold', 'fetch p50', 'fetch p99'],
        [
          ['idle worker', '-', '-', '-', '-', ms(x.idle.fetchMs.p50), ms(x.idle.fetchMs.p99)],
          [
            'plain UPDATE',
            ms(x.plainUpdate.ms),
            n(x.plainUpdate.rows),
            '1',
            ms(x.plainUpdate.lockHoldMs),
            ms(x.plainUpdate.worker.fetchMs.p50),
            ms(x.plainUpdate.worker.fetchMs.p99),
          ],
          [
            'jobq retry-all',
            `${ms(x.jobq.ms)} (pauses ${ms(x.jobq.pausesMs)})`,
            n(x.jobq.rows),
            n(x.jobq.batches),
            `max ${ms(x.jobq.lockHold.maxMs)} p95 ${ms(x.jobq.lockHold.p95Ms)}`,
            ms(x.jobq.worker.fetchMs.p50),
            ms(x.jobq.worker.fetchMs.p99),
          ],
        ],
      ),
    );
    out.push(pacingLine(x.jobq));
    out.push(`preview ${ms(x.jobq.previewMs)}`);
  }
  if (r.alertPoll) {
    out.push('', 'ALERT POLL (failure tail, median)');
    out.push(
      table(
        ['database', 'jobs', 'events', 'steady poll', 'catch-up poll'],
        r.alertPoll.map((a) => [a.database, n(a.jobs), n(a.events), ms(a.steadyMs), ms(a.catchUpMs)]),
      ),
    );
  }
  out.push(
    '',
    `RSS peak ${r.rss.peakMib} MiB; by section ${Object.entries(r.rss.sections)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  out.push('', 'TARGETS (issue 11; they hold at 10M jobs, not at small N)');
  out.push(
    table(
      ['target', 'wanted', 'measured', 'margin', ''],
      r.targets.map((t) => [t.name, t.target, t.measured, t.margin, t.verdict]),
    ),
  );
  return out.join('\n');
}
