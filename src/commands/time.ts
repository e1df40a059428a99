import { JobqError } from '../errors.js';
import { DURATION_MAX_SECONDS, isUsableInstant } from './values.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** A user's value quoted back in an error: short, and without control characters. */
export function shown(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '�');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}

/** "90s", "15m", "2h", "7d", "1w" -> seconds, at most `max` (10 years unless a flag says less). */
export function parseDuration(text: string, flag: string, max = DURATION_MAX_SECONDS): number {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(text.trim());
  if (!match) throw new JobqError('usage', `${flag} takes a duration such as 30m, 2h or 7d (got "${shown(text)}").`);
  const seconds = Math.round(Number(match[1]) * UNITS[match[2]!.toLowerCase()]!);
  if (seconds < 1) throw new JobqError('usage', `${flag} must be at least one second (got "${shown(text)}").`);
  if (seconds > max) throw new JobqError('usage', `${flag} is at most ${Math.floor(max / 86_400)} days (got "${shown(text)}").`);
  return seconds;
}

/** A point in time: an ISO date/time, or a duration meaning "that long ago" (e.g. 2h). */
export function parseTimeAgo(text: string, flag: string, now = Date.now()): Date {
  if (/^\d+(?:\.\d+)?\s*[smhdw]$/i.test(text.trim())) return new Date(now - parseDuration(text, flag) * 1000);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const date = new Date(text);
    if (isUsableInstant(date)) return date;
  }
  throw new JobqError('usage', `${flag} takes a time: an ISO date like 2026-11-28T09:00Z, or how long ago like 2h or 7d (got "${shown(text)}").`);
}
