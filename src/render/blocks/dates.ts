import type { RichTextDate } from '@slack/types';
import { relativeTime, utcShort } from '../time.js';

/**
 * Times for Slack: date tokens that each reader's client shows in their own time zone and
 * locale, with a UTC fallback for clients (and notifications) that cannot format them.
 */

/** The default look: "Today 10:21 AM", "Nov 28, 2026 9:00 PM". */
export const DATE_TIME = '{date_short_pretty} {time}';

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** `<!date^…^{date_short_pretty} {time}|2026-11-30 09:21 UTC>` for mrkdwn text. */
export function dateToken(iso: string, format = DATE_TIME): string {
  const at = seconds(iso);
  if (Number.isNaN(at)) return iso;
  return `<!date^${at}^${format}|${utcShort(iso)}>`;
}

/** "4 minutes ago" as each reader's client says it, counted when they look; the fallback is counted now. */
export function agoToken(iso: string, now = Date.now()): string {
  const at = seconds(iso);
  if (Number.isNaN(at)) return iso;
  return `<!date^${at}^{ago}|${relativeTime(iso, now)}>`;
}

/** The rich-text form, for table cells (a `<!date…>` token in a raw_text cell shows literally). */
export function dateElement(iso: string, format = DATE_TIME): RichTextDate {
  return { type: 'date', timestamp: seconds(iso), format, fallback: utcShort(iso) };
}
