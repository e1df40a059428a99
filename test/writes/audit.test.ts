import { describe, expect, it } from 'vitest';
import { JobqError } from '../../src/errors.js';
import type { Actor } from '../../src/queue/actor.js';
import { listAudit } from '../../src/queue/audit.js';
import { cancelJob } from '../../src/queue/cancel.js';
import { retryJob } from '../../src/queue/retry.js';
import { useMigratedDbs } from '../helpers/db.js';

const frank: Actor = { kind: 'slack', id: 'U0FRANK', name: 'frank' };
const grace: Actor = { kind: 'cli', id: 'grace' };

describe('audit log', () => {
  const setup = useMigratedDbs('v3');

  it('lists ok and refused changes newest first, with who, what and the outcome, page by page', async () => {
    const { ctx, f } = await setup();
    const failed = await f.job({ status: 'failed' });
    const waiting = await f.job({ status: 'todo' });
    await retryJob(ctx, failed, frank);
    await retryJob(ctx, failed, grace).catch(() => undefined);
    await cancelJob(ctx, waiting, grace);
    await cancelJob(ctx, waiting, frank).catch(() => undefined);

    const first = await listAudit(ctx, { limit: 3 });
    expect(first.entries.map((e) => [e.action, e.outcome, e.actor.id, e.filters.jobId, e.jobCount])).toEqual([
      ['cancel', 'refused', 'U0FRANK', waiting, 0],
      ['cancel', 'ok', 'grace', waiting, 1],
      ['retry', 'refused', 'grace', failed, 0],
    ]);
    expect(first.entries[2]!.message).toBe(`Job ${failed} is \`todo\`, not \`failed\`: nothing to retry (it is already waiting to run).`);
    expect(first.nextCursor).toBe(first.entries[2]!.id);

    const second = await listAudit(ctx, { limit: 3, cursor: first.nextCursor! });
    expect(second.entries.map((e) => [e.action, e.outcome, e.actor])).toEqual([['retry', 'ok', frank]]);
    expect(second.nextCursor).toBeNull();
    expect(Date.parse(second.entries[0]!.at)).toBeLessThanOrEqual(Date.parse(first.entries[0]!.at));
  });

  it('refuses a limit out of range', async () => {
    const { ctx } = await setup();
    const error = (await listAudit(ctx, { limit: 0 }).catch((e: unknown) => e)) as JobqError;
    expect(error.code).toBe('usage');
  });

  it('changes nothing when the audit log does not exist yet, and says why', async () => {
    const { ctx, f } = await setup({}, { migrated: false });
    const failed = await f.job({ status: 'failed' });
    const error = (await retryJob(ctx, failed, frank).catch((e: unknown) => e)) as JobqError;
    expect(error).toBeInstanceOf(JobqError);
    expect(error.message).toBe("jobq's audit log (table jobq.audit_log) does not exist yet, so no change can be recorded; nothing was changed.");
    expect(await f.status(failed)).toBe('failed');
  });

  it('refuses a change without an actor', async () => {
    const { ctx, f } = await setup();
    const failed = await f.job({ status: 'failed' });
    const error = (await retryJob(ctx, failed, { kind: 'cli', id: ' ' }).catch((e: unknown) => e)) as JobqError;
    expect(error.code).toBe('usage');
    expect(await f.status(failed)).toBe('failed');
  });
});
