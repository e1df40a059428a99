import { z } from 'zod';
import { JobqError } from '../errors.js';

/**
 * The values a person (or a button) may hand to jobq, checked once here for both fronts and for
 * the values that come back from Slack buttons: a bad one is a usage error that says what is
 * expected, never a database error or a stack trace.
 */

/** Procrastinate's queue_name and task_name are varchar(128). */
export const NAME_MAX = 128;
/** Free text kept by jobq (mute reasons): long enough for a sentence and a link. */
export const REASON_MAX = 500;
/** The whole text of one command: far above any real use, far below what could hurt. */
export const COMMAND_TEXT_MAX = 2_000;
/** The longest duration anywhere (--since 10y ago, a mute): beyond it the question is a mistake. */
export const DURATION_MAX_SECONDS = 10 * 365 * 86_400;

// Control characters (NUL above all) are refused by PostgreSQL in text and break Slack's formatting.
const CONTROL = /[\u0000-\u001f\u007f]/;

export const nameSchema = z
  .string()
  .trim()
  .min(1, 'needs a value')
  .max(NAME_MAX, `is longer than ${NAME_MAX} characters (Procrastinate's limit)`)
  .refine((v) => !CONTROL.test(v), 'contains control characters');

/** A queue or task name, or a usage error naming where it came from. */
export function parseName(value: unknown, what: string): string {
  const parsed = nameSchema.safeParse(value);
  if (!parsed.success) throw new JobqError('usage', `${what} ${parsed.error.issues[0]?.message ?? 'is not valid'}.`);
  return parsed.data;
}

/** Free text (a mute reason): control characters become spaces, length is limited. */
export function parseReason(value: string): string | null {
  const text = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (text.length > REASON_MAX) throw new JobqError('usage', `The reason is ${text.length} characters long; keep it under ${REASON_MAX} (link to a ticket for more).`);
  return text || null;
}

/** Earliest and latest instants jobq accepts: a typo in a year should not reach the database. */
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);

/** A point in time from a button value or a stored preview (ISO 8601), or a usage error. */
export function parseInstant(value: unknown, what: string): Date {
  const date = typeof value === 'string' || value instanceof Date ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime()) || date.getTime() < EARLIEST || date.getTime() > LATEST) {
    throw new JobqError('usage', `${what} is not a time jobq can use (an ISO date between 2000 and 2100).`);
  }
  return date;
}

/** Whether the date lies in the range parseInstant accepts. */
export function isUsableInstant(date: Date): boolean {
  return !Number.isNaN(date.getTime()) && date.getTime() >= EARLIEST && date.getTime() <= LATEST;
}
