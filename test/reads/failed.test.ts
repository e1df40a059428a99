import { describe, expect, it } from 'vitest';
import { JobqError } from '../../src/errors.js';
import { listFailed, type FailedPage } from '../../src/queue/failed.js';
import type { QueueContext } from '../../src/queue/context.js';
import { queueContext, useFixtureDb } from '../helpers/db.js';
import type { Factories } from '../helpers/factories.js';
import { SHAPES, type SchemaShape } from '../helpers/fixtures.js';

const HOUR = 3600;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Follows nextCursor until the end; returns every page. */
async function allPages(ctx: QueueContext, query: Parameters<typeof listFailed>[1], maxPages = 100): Promise<FailedPage[]> {
  const pages: FailedPage[] = [];
  let cursor: number | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = await listFailed(ctx, { ...query, cursor });
    pages.push(page);
    if (page.nextCursor === null) return pages;
    expect(page.nextCursor).toBeLessThan(cursor ?? Number.MAX_SAFE_INTEGER);
    cursor = page.nextCursor;
  }
  throw new Error(`pagination did not end within ${maxPages} pages`);
}

describe.each(SHAPES)('listFailed on a %s schema', (shape: SchemaShape) => {
  const setup = useFixtureDb(shape);

  /** A mix of failed and other jobs; returns the failed ids, in creation order. */
  async function mixed(f: Factories, failedCount: number): Promise<number[]> {
    const failed: number[] = [];
    const others = ['succeeded', 'doing', 'cancelled', 'aborted'] as const;
    for (let i = 0; i < failedCount; i++) {
      failed.push(await f.job({ queue: i % 2 ? 'emails' : 'reports', task: i % 3 ? 'app.send' : 'app.render', status: 'failed' }));
      await f.job({ queue: 'emails', status: others[i % others.length]! });
    }
    return failed;
  }

  it('lists failed jobs newest first, and only failed jobs', async () => {
    const { f, ctx } = await setup();
    const failed = await mixed(f, 6);
    const page = await listFailed(ctx);
    expect(page.jobs.map((j) => j.id)).toEqual([...failed].reverse());
    expect(page.nextCursor).toBeNull();
    const first = page.jobs.find((j) => j.id === failed[0])!;
    expect(first).toMatchObject({ queue: 'reports', task: 'app.render', attempts: 1 });
  });

  it('filters by queue and by task', async () => {
    const { f, ctx } = await setup();
    const failed = await mixed(f, 9);
    const emails = await listFailed(ctx, { queue: 'emails' });
    expect(emails.jobs.map((j) => j.id)).toEqual(failed.filter((_, i) => i % 2 === 1).reverse());
    expect(emails.jobs.every((j) => j.queue === 'emails')).toBe(true);
    const render = await listFailed(ctx, { task: 'app.render' });
    expect(render.jobs.map((j) => j.id)).toEqual(failed.filter((_, i) => i % 3 === 0).reverse());
    const both = await listFailed(ctx, { queue: 'reports', task: 'app.render' });
    expect(both.jobs.map((j) => j.id)).toEqual(failed.filter((_, i) => i % 2 === 0 && i % 3 === 0).reverse());
    expect((await listFailed(ctx, { queue: 'nope' })).jobs).toEqual([]);
  });

  it('filters by failure time with since and before', async () => {
    const { f, ctx } = await setup();
    const old = await f.job({ status: 'failed' });
    await f.age(old, 5 * HOUR);
    const middle = await f.job({ status: 'failed' });
    await f.age(middle, 2 * HOUR);
    const recent = await f.job({ status: 'failed' });
    const hoursAgo = (h: number) => new Date(Date.now() - h * HOUR * 1000);
    expect((await listFailed(ctx, { since: hoursAgo(1) })).jobs.map((j) => j.id)).toEqual([recent]);
    expect((await listFailed(ctx, { since: hoursAgo(3) })).jobs.map((j) => j.id)).toEqual([recent, middle]);
    expect((await listFailed(ctx, { before: hoursAgo(1) })).jobs.map((j) => j.id)).toEqual([middle, old]);
    expect((await listFailed(ctx, { since: hoursAgo(3), before: hoursAgo(1) })).jobs.map((j) => j.id)).toEqual([middle]);
  });

  it('reports failedAt as the time of the failed event', async () => {
    const { db, f, ctx } = await setup();
    const id = await f.job({ status: 'failed' });
    await f.age(id, 1234);
    const event = await db.worker.query<{ at: Date }>(`SELECT at FROM procrastinate_events WHERE job_id = $1 AND type = 'failed'`, [id]);
    expect(event.rows).toHaveLength(1);
    const [job] = (await listFailed(ctx)).jobs;
    expect(job!.id).toBe(id);
    expect(job!.failedAt).toBe(event.rows[0]!.at.toISOString());
  });

  it('honours the limit and hands back a cursor', async () => {
    const { f, ctx } = await setup();
    const failed = await mixed(f, 5);
    const page = await listFailed(ctx, { limit: 2 });
    expect(page.jobs.map((j) => j.id)).toEqual([failed[4], failed[3]]);
    expect(page.nextCursor).toBe(failed[3]);
    const next = await listFailed(ctx, { limit: 2, cursor: page.nextCursor! });
    expect(next.jobs.map((j) => j.id)).toEqual([failed[2], failed[1]]);
  });

  it('visits every failed job exactly once across pages', async () => {
    const { f, ctx } = await setup();
    const failed = await mixed(f, 23);
    const pages = await allPages(ctx, { limit: 5 });
    const seen = pages.flatMap((p) => p.jobs.map((j) => j.id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...failed].reverse());
    expect(pages.slice(0, -1).every((p) => p.jobs.length === 5)).toBe(true);
    const filtered = (await allPages(ctx, { limit: 3, queue: 'emails' })).flatMap((p) => p.jobs.map((j) => j.id));
    expect(filtered).toEqual(failed.filter((_, i) => i % 2 === 1).reverse());
  });

  it('pages across id gaps larger than its scan window, with and without the failed index', async () => {
    const { db, f } = await setup();
    // Ids far apart, as on a long-lived table where most rows in between were purged.
    const ids: number[] = [];
    ids.push(await f.job({ status: 'failed' }));
    await f.job({ status: 'succeeded' });
    await db.worker.query(`SELECT setval('procrastinate_jobs_id_seq', 3000000)`);
    ids.push(await f.job({ status: 'failed' }));
    ids.push(await f.job({ status: 'failed' }));
    await db.worker.query(`SELECT setval('procrastinate_jobs_id_seq', 3300000)`);
    await f.job({ status: 'todo' });
    ids.push(await f.job({ status: 'failed' }));
    const expected = [...ids].reverse();

    const unindexed = await queueContext(db);
    expect(unindexed.schema.has('failed_index')).toBe(false);
    for (const limit of [1, 2, 20]) {
      const pages = await allPages(unindexed, { limit });
      expect(pages.flatMap((p) => p.jobs.map((j) => j.id))).toEqual(expected);
    }

    await db.worker.query(`CREATE INDEX jobq_failed_jobs_idx ON procrastinate_jobs (queue_name, id) WHERE status = 'failed'`);
    const indexed = await queueContext(db);
    expect(indexed.schema.has('failed_index')).toBe(true);
    for (const limit of [1, 3, 20]) {
      const pages = await allPages(indexed, { limit });
      expect(pages.flatMap((p) => p.jobs.map((j) => j.id))).toEqual(expected);
    }
    const single = await listFailed(indexed, { limit: 20 });
    expect(single.jobs.map((j) => j.id)).toEqual(expected);
    expect(single.nextCursor).toBeNull();
  });

  it('previews args on one line, cut with an ellipsis when long', async () => {
    const { f, ctx } = await setup();
    const short = await f.job({ status: 'failed', args: { to: 'a@example.com' } });
    const long = await f.job({ status: 'failed', args: { body: 'x'.repeat(500) } });
    const nasty = await f.job({ status: 'failed', args: { s: 'line1\nline2\ttab\u0001bell\u2028ls\u2029ps\u0085nel\u007fdel', r: '\r' } });
    const page = await listFailed(ctx);
    const byId = new Map(page.jobs.map((j) => [j.id, j]));
    expect(byId.get(short)!.argsPreview).toBe('{"to": "a@example.com"}');
    const longPreview = byId.get(long)!.argsPreview;
    expect(longPreview.endsWith('…')).toBe(true);
    expect([...longPreview].length).toBeLessThanOrEqual(121);
    expect(longPreview.startsWith('{"body": "xxx')).toBe(true);
    const nastyPreview = byId.get(nasty)!.argsPreview;
    expect(nastyPreview).not.toMatch(CONTROL);
    expect(nastyPreview).toContain('line1');
    expect(nastyPreview).toContain('ls');
    expect(nastyPreview).toContain('del');
    expect(nastyPreview.endsWith('…')).toBe(false);
  });

  // Regression: truncation compared UTF-16 units with PostgreSQL's code points, so emoji args lost the '…'.
  it('marks a cut preview with an ellipsis when args hold emoji', async () => {
    const { f, ctx } = await setup();
    const id = await f.job({ status: 'failed', args: { s: '😀'.repeat(200) } });
    const [job] = (await listFailed(ctx)).jobs;
    expect(job!.id).toBe(id);
    expect([...job!.argsPreview].length).toBeLessThanOrEqual(121);
    expect(job!.argsPreview.endsWith('…')).toBe(true);
  });

  it('returns nothing (and no cursor) on an empty table', async () => {
    const { ctx } = await setup();
    expect(await listFailed(ctx)).toMatchObject({ jobs: [], nextCursor: null });
  });

  it('refuses a limit out of range with a usage error', async () => {
    const { f, ctx } = await setup();
    await f.job({ status: 'failed' });
    for (const limit of [0, -1, 101, 2.5]) {
      const error = await listFailed(ctx, { limit }).catch((e: unknown) => e);
      expect(error, `limit ${limit}`).toBeInstanceOf(JobqError);
      expect((error as JobqError).code).toBe('usage');
      expect((error as JobqError).message).toMatch(/--limit/);
    }
    expect((await listFailed(ctx, { limit: 100 })).jobs).toHaveLength(1);
  });
});
