import { JobqError } from '../errors.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** "90s", "15m", "2h", "7d", "1w" -> seconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(text.trim());
  if (!match) throw new JobqError('usage', `${flag} takes a duration such as 30m, 2h or 7d (got "${text}").`);
  return Math.round(Number(match[1]) * UNITS[match[2]!.toLowerCase()]!);
}

/** A point in time: an ISO date/time, or a duration meaning "that long ago" (e.g. 2h). */
export function parseTimeAgo(text: string, flag: string, now = Date.now()): Date {
  if (/^\d+(?:\.\d+)?\s*[smhdw]$/i.test(text.trim())) return new Date(now - parseDuration(text, flag) * 1000);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const date = new Date(text);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new JobqError('usage', `${flag} takes a time: an ISO date like 2026-11-28T09:00Z, or how long ago like 2h or 7d (got "${text}").`);
}
