import { describe, expect, inject, it } from 'vitest';
import { runBench } from '../../bench/bench.js';
import { useServer } from '../../bench/databases.js';
import { renderReport, SECTIONS, type BenchReport } from '../../bench/report.js';
import { ISSUE_11_QUEUES } from '../../test/helpers/generate.js';

/**
 * `npm run bench` end to end at a small N, so the benchmark never rots: every section runs and
 * reports, and every statement every read, health check and poll sent got its page-budget
 * verdict. Issue 11's targets are printed, not asserted: they hold at 10M jobs, not at 20,000.
 */
describe('the benchmark at 20,000 jobs', () => {
  it('runs every section and checks the plan of every statement', async () => {
    useServer(inject('adminUrl'));
    const lines: string[] = [];
    const report: BenchReport = await runBench({
      jobs: 20_000,
      shape: 'v3',
      days: 30,
      keep: false,
      runs: 1,
      naiveRuns: 1,
      concurrency: 50,
      idleMs: 1_000,
      sections: SECTIONS,
      command: 'test',
      log: (line) => lines.push(line),
    });

    expect(report.sections).toEqual([...SECTIONS]);
    expect(report.meta.table.jobs).toBeGreaterThan(19_000);

    // Reads: timed three ways, and each statement they sent has a verdict from a real EXPLAIN.
    const reads = report.reads!;
    expect(reads.map((r) => r.name)).toEqual(['stats', 'failed', 'failed --queue', 'job', 'stalled', 'workers', 'doctor', 'audit']);
    for (const read of reads) {
      expect(read.endToEndMs, read.name).toBeGreaterThan(0);
      expect(read.statements, read.name).toBeGreaterThan(0);
      const checked = report.plans.filter((p) => p.owner === `read:${read.name}`);
      expect(checked, read.name).toHaveLength(read.statements);
    }
    expect(reads.find((r) => r.name === 'stats')!.naive.map((q) => q.name)).toEqual(['GROUP BY queue_name, status', 'count_jobs_status', 'list_queues']);
    for (const health of report.health!) expect(report.plans.filter((p) => p.owner === `health:${health.check}`)).toHaveLength(health.statements);
    expect(report.plans.filter((p) => p.owner === 'alerts:failure-poll').length).toBeGreaterThan(0);
    for (const plan of report.plans) {
      expect(plan.error, plan.text).toBeUndefined();
      expect(Number.isFinite(plan.pages), plan.text).toBe(true);
      expect(['PASS', 'MISS']).toContain(plan.verdict);
    }

    // Below JOBQ_EXACT_COUNT_MAX_ROWS stats counts exactly: the accuracy check must find no error.
    const accuracy = report.accuracy!;
    expect(accuracy.countMethod.kind).toBe('exact');
    expect(accuracy.rare).toHaveLength(3 * ISSUE_11_QUEUES.length);
    expect(accuracy.maxErrorPct).toBe(0);
    expect(accuracy.liveMismatches).toEqual([]);

    // Every slash command got a final answer through the real receiver (which one is not asserted here).
    const storm = report.concurrency!.storm;
    expect(storm.outcomes).toHaveLength(50);
    expect(storm.outcomes.filter((o) => o.answer === 'no answer')).toEqual([]);
    // Every answer is recognised as the read's result (so a renderer's new wording cannot pass for an error at 10M).
    expect(storm.errors).toEqual({});
    expect(storm.withResults).toBe(50);

    // Both sides of each comparison did the same work on identical copies.
    const purge = report.purge!;
    expect(purge.jobq.rows).toBeGreaterThan(0);
    expect(Math.abs(purge.jobq.rows - purge.procrastinate.rows)).toBeLessThanOrEqual(2);
    expect(purge.jobq.worker.fetches).toBeGreaterThan(0);
    expect(purge.idle.fetches).toBeGreaterThan(0);
    const retry = report.retryAll!;
    expect(retry.failed).toBeGreaterThan(0);
    expect(retry.jobq.rows).toBe(retry.failed);
    expect(retry.plainUpdate.rows).toBe(retry.failed);

    const [big, small] = report.alertPoll!;
    expect(small!.jobs).toBeLessThan(big!.jobs);
    expect(report.rss.peakMib).toBeGreaterThan(0);

    expect(report.targets.map((t) => t.name)).toEqual([
      'index plans within page budgets',
      '50 commands at once: answered with results',
      'reply p99',
      'acks',
      'rare statuses per queue vs truth',
      'purge vs delete_old_jobs',
      'worker fetch p99 during purge',
      'retry-all vs plain UPDATE',
      'worker fetch p99 during retry-all',
      'lock hold per batch',
    ]);
    const text = renderReport(report);
    for (const heading of ['READS', 'PLANS', 'RARE STATUSES', 'HEALTH CHECKS', 'CONCURRENCY', 'PURGE', 'RETRY-ALL', 'ALERT POLL', 'RSS', 'TARGETS'])
      expect(text).toContain(heading);
    expect(JSON.parse(JSON.stringify(report)).sections).toEqual([...SECTIONS]);
  }, 240_000);
});
