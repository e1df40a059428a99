import { JobqError } from '../errors.js';

/**
 * The values a person (or a button) may hand to jobq, checked once here for both fronts and for
 * the values that come back from Slack buttons: a bad one is a usage error that says what is
 * expected, never a database error or a stack trace. No zod here: parsing a command (and `--help`)
 * stays free of the schema library; button-values.ts wraps checkName in its schemas.
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
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A queue or task name, trimmed, or what is wrong with it (said after the field's name). */
export function checkName(value: unknown): { name: string } | { problem: string } {
  if (typeof value !== 'string') return { problem: 'needs a value' };
  const name = value.trim();
  if (name.length < 1) return { problem: 'needs a value' };
  if (name.length > NAME_MAX) return { problem: `is longer than ${NAME_MAX} characters (Procrastinate's limit)` };
  if (CONTROL.test(name)) return { problem: 'contains control characters' };
  return { name };
}

/** A queue or task name, or a usage error naming where it came from. */
export function parseName(value: unknown, what: string): string {
  const checked = checkName(value);
  if ('problem' in checked) throw new JobqError('usage', `${what} ${checked.problem}.`);
  return checked.name;
}

/** A job id as Procrastinate shows it, or a usage error. */
export function parseJobId(text: string | undefined): number {
  if (text === undefined || !/^\d{1,15}$/.test(text.trim()) || Number(text) < 1) {
    throw new JobqError('usage', `"${text ?? ''}" is not a job id: give the number Procrastinate shows, e.g. \`job 123\`.`);
  }
  return Number(text);
}

/** Free text (a mute reason): control characters become spaces, length is limited. */
export function parseReason(value: string): string | null {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
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
