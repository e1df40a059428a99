import { z } from 'zod';
import { checkName, parseInstant } from '../../commands/values.js';
import { JobqError } from '../../errors.js';
import type { FailedQuery } from '../../queue/failed.js';

/**
 * What buttons carry in their `value`, both ways. A click comes back from Slack as text anyone
 * holding the signing secret could have written, so decoding checks it as strictly as a typed
 * command: a bad value is a usage error, never a crash or a database error.
 */

const VALUE_MAX = 2_000;

function json(value: string | undefined, what: string): unknown {
  if (value === undefined || value.length > VALUE_MAX) throw unreadable(what);
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw unreadable(what);
  }
}

const unreadable = (what: string) => new JobqError('usage', `This button carries no readable ${what}: run the command again for fresh buttons.`, { runbookSection: 'using-jobq' });

const nameSchema = z.string().transform((value, ctx) => {
  const checked = checkName(value);
  if ('problem' in checked) {
    ctx.addIssue({ code: 'custom', message: checked.problem });
    return z.NEVER;
  }
  return checked.name;
});
const instant = z.string().max(40).optional();
const failedQueryValue = z.strictObject({
  q: nameSchema.optional(),
  t: nameSchema.optional(),
  s: instant,
  b: instant,
  l: z.number().int().min(1).max(100).optional(),
  c: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

/** The filters of a failed-jobs page, packed into a button value for the "Next" click. */
export function encodeFailedQuery(query: FailedQuery): string {
  return JSON.stringify({ q: query.queue, t: query.task, s: query.since?.toISOString(), b: query.before?.toISOString(), l: query.limit, c: query.cursor });
}

export function decodeFailedQuery(value: string | undefined): FailedQuery {
  const parsed = failedQueryValue.safeParse(json(value, 'failed-jobs page'));
  if (!parsed.success) throw unreadable('failed-jobs page');
  const raw = parsed.data;
  return {
    queue: raw.q,
    task: raw.t,
    since: raw.s === undefined ? undefined : parseInstant(raw.s, 'The page\'s "since"'),
    before: raw.b === undefined ? undefined : parseInstant(raw.b, 'The page\'s "before"'),
    limit: raw.l,
    cursor: raw.c,
  };
}

/** What the "Retry these" / "Show them" buttons of a failure alert carry: the group and when its failures began. */
export interface FailureButtonValue {
  q: string;
  t: string;
  s: string;
}

const failureValue = z.strictObject({ q: nameSchema, t: nameSchema, s: z.string().max(40) });

export function encodeFailureButton(value: FailureButtonValue): string {
  return JSON.stringify(value);
}

export function decodeFailureButton(value: string | undefined): { queue: string; task: string; since: Date } {
  const parsed = failureValue.safeParse(json(value, 'alert'));
  if (!parsed.success) throw unreadable('alert');
  return { queue: parsed.data.q, task: parsed.data.t, since: parseInstant(parsed.data.s, "The alert's first failure") };
}
