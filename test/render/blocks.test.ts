import { describe, expect, it } from 'vitest';
import { blockSize, code, cut, escapeMrkdwn, LIMITS, message, section } from '../../src/render/blocks/kit.js';
import { failedBlocks, jobBlocks } from '../../src/render/blocks/reads.js';
import { bulkResultBlocks, errorBlocks } from '../../src/render/blocks/writes.js';
import { JobqError } from '../../src/errors.js';
import type { FailedPage } from '../../src/queue/failed.js';
import type { JobDetail } from '../../src/queue/job.js';
import type { RetryAllResult } from '../../src/queue/retry-all.js';

const options = { runbookBase: 'https://git.example.com/ops/docs/runbooks/job-queue.md' };
// What counts against a message's budget: markdown blocks by their JSON, a table by the text it holds.
const size = (m: { blocks: unknown[] }) => (m.blocks as Parameters<typeof blockSize>[0][]).reduce((n, b) => n + blockSize(b), 0);

function sectionTexts(m: { blocks: unknown[] }): string[] {
  return (m.blocks as { type: string; text?: { text: string }; fields?: { text: string }[] }[]).flatMap((b) => [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text)]);
}

/** The renderers alone: pure data in, Block Kit out, always within Slack's limits. */
describe('Block Kit renderers', () => {
  it('escapes mrkdwn so user text cannot ping or link', () => {
    expect(escapeMrkdwn('<!channel> & <https://evil|click>')).toBe('&lt;!channel&gt; &amp; &lt;https://evil|click&gt;');
    expect(code('a`b')).toBe('`aˋb`');
  });

  it('cuts on a character boundary, never inside an entity or a surrogate pair', () => {
    expect(cut('😀'.repeat(10), 5)).toBe('😀😀😀😀…');
    expect(cut('abc &amp;&amp;&amp;', 7)).toBe('abc …');
    expect(cut('short', 10)).toBe('short');
  });

  it('keeps a message within 50 blocks and the character budget, keeping its tail', () => {
    const body = Array.from({ length: 200 }, (_, i) => section(`row ${i} ${'x'.repeat(500)}`));
    const tail = [section('runbook link')];
    const m = message('fallback', body, tail);
    expect(m.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
    expect(size(m)).toBeLessThanOrEqual(LIMITS.messageChars);
    expect(JSON.stringify(m.blocks.at(-1))).toContain('runbook link');
    expect(JSON.stringify(m.blocks.at(-2))).toMatch(/more blocks not shown/);
  });

  it('renders 100 failed jobs with huge hostile args within the limits, with a Next button and a runbook link', () => {
    const page: FailedPage = {
      jobs: Array.from({ length: 100 }, (_, i) => ({
        id: 1000 - i,
        queue: '<!here>',
        task: `task_${i}*_~`,
        attempts: 3,
        failedAt: '2026-11-29T01:00:00.000Z',
        argsPreview: `${'`'}<!channel>${'y'.repeat(5_000)}`,
      })),
      nextCursor: 901,
      scanned: { fromId: 1, toId: 1000 },
    };
    const m = failedBlocks(page, { queue: '<!here>', limit: 100 }, options);
    expect(m.blocks.length).toBeLessThanOrEqual(50);
    expect(size(m)).toBeLessThanOrEqual(LIMITS.messageChars);
    for (const text of sectionTexts(m)) expect(text.length).toBeLessThanOrEqual(3_000);
    expect(sectionTexts(m).join('\n') + m.text).not.toMatch(/<!here>|<!channel>/);
    // Not every job fits: Next must continue right after the last one shown, skipping none.
    const shown = [...JSON.stringify(m.blocks).matchAll(/"value":"(\d+)"/g)].map((x) => Number(x[1]));
    expect(shown.length).toBeGreaterThan(5);
    expect(shown.length).toBeLessThan(100);
    const next = (m.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'failed_next')!;
    expect(JSON.parse(next.value)).toMatchObject({ c: shown.at(-1) });
    expect(JSON.stringify(m)).toContain(`${options.runbookBase}#triaging-failed-jobs`);
    expect(m.text.length).toBeLessThanOrEqual(LIMITS.fallbackText);
  });

  it('names the jobs a retry-all left failed, and what to do, within the limits', () => {
    const ids = (from: number) => Array.from({ length: 20 }, (_, i) => 9_000_000_000 + from + i);
    const result: RetryAllResult = {
      retried: 13,
      previewed: { total: 14, exact: true },
      skipped: { locked: { count: 1, ids: [123] }, changed: { count: 500, ids: ids(0) }, queueingLock: { count: 30, ids: ids(100) } },
      skippedQueueingLock: 30,
      batches: 2,
      stopped: false,
      nextId: 1001,
      upToId: 1000,
      auditId: 7,
      lockHold: { maxMs: 12.4, p95Ms: 9 },
      pacing: {
        batches: 2,
        targetMs: 100,
        maxRows: 5_000,
        firstRows: 100,
        largestRows: 200,
        finalRows: 400,
        maxBatchMs: 12.4,
        slowBatches: 0,
        pausedMs: 0,
        pauses: { 'lock wait': { count: 0, ms: 0 }, 'fetch latency': { count: 0, ms: 0 }, 'replica lag': { count: 0, ms: 0 } },
        probeBaselineMs: 0.4,
        steps: [],
        stepsLeftOut: 0,
      },
    };
    const m = bulkResultBlocks({ bulk: 'retry-all', result }, 'U_OPS', options);
    const text = sectionTexts(m).join('\n');
    expect(text).toContain('Retried 13 failed jobs of 14 previewed, in 2 batches.');
    expect(text).toContain(
      'Skipped #123: another session held it each time this run came to it (a worker or another operator). If it is still failed, run `retry 123` in a moment.',
    );
    expect(text).toContain(`Skipped 500 jobs (#9000000000, #9000000001, `);
    expect(text).toContain('#9000000019 and 480 more): they failed again, ran or were retried after the preview. Preview again to include them.');
    expect(text).toContain('Left 30 jobs (#9000000100');
    for (const t of sectionTexts(m)) expect(t.length).toBeLessThanOrEqual(3_000);
    expect(m.text.length).toBeLessThanOrEqual(LIMITS.fallbackText);
  });

  it('renders a job with 1 MB of args and 10,000 events within the limits', () => {
    const detail: JobDetail = {
      job: {
        id: 7,
        queue: 'q',
        task: '<@U123>',
        status: 'failed',
        attempts: 1,
        priority: 0,
        args: { blob: 'z'.repeat(1_000_000) },
        lock: null,
        queueingLock: null,
        scheduledAt: null,
        abortRequested: false,
        workerId: null,
        lockMode: null,
        deferredAt: null,
      },
      events: Array.from({ length: 10_000 }, (_, i) => ({ type: 'failed', at: new Date(i * 1000).toISOString() })),
      eventsTruncated: true,
      worker: null,
      sharingLocks: [],
      waiting: [],
      stalled: false,
      actions: ['retry'],
    };
    const m = jobBlocks(detail, options);
    expect(size(m)).toBeLessThanOrEqual(LIMITS.messageChars);
    for (const text of sectionTexts(m)) expect(text.length).toBeLessThanOrEqual(3_000);
    expect(m.text).not.toContain('<@U123>');
    expect(JSON.stringify(m)).toContain('job_retry');
  });

  it('turns an error into a message with its hint and the runbook section it names', () => {
    const m = errorBlocks(new JobqError('wrong_status', 'Job 5 is `todo` <!channel>', { hint: 'Look first', runbookSection: 'retrying-jobs-safely' }), options);
    const json = JSON.stringify(m);
    expect(json).toContain('Look first');
    expect(json).toContain('#retrying-jobs-safely');
    expect(json).not.toContain('<!channel>');
  });
});
