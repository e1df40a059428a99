/**
 * Times as people read them. One format for terminals: local time with its UTC offset
 * (`2026-11-30 10:21:01 +01:00`), so a reader never converts from UTC in their head; a relative
 * age ("4 min ago") where age is what matters. JSON keeps ISO 8601 UTC; Slack gets date tokens
 * (render/blocks/dates.ts) so each reader sees their own time zone.
 */

const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0');

/** `2026-11-30 10:21:01 +01:00` in the process's time zone (TZ), or '-' for no time. */
export function localTime(iso: string | null): string {
  if (!iso) return '-';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    ` ${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  );
}

/** `2026-11-30 09:21 UTC`: the fallback text of a Slack date token, for clients that cannot format it. */
export function utcShort(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A duration in the largest unit that keeps it readable: "45 s", "4 min", "2 h 5 min", "3 days". */
export function spokenDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3_600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) {
    const minutes = Math.floor((s % 3_600) / 60);
    return `${Math.floor(s / 3_600)} h${minutes ? ` ${minutes} min` : ''}`;
  }
  const days = Math.floor(s / 86_400);
  return `${days} day${days === 1 ? '' : 's'}`;
}

/** "4 min ago", "in 2 h", "just now". */
export function relativeTime(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((now - at) / 1000);
  if (Math.abs(seconds) < 5) return 'just now';
  return seconds > 0 ? `${spokenDuration(seconds)} ago` : `in ${spokenDuration(-seconds)}`;
}

/** Seconds since `iso` (never negative), or null. */
export function secondsSince(iso: string | null, now = Date.now()): number | null {
  if (!iso) return null;
  const at = Date.parse(iso);
  return Number.isNaN(at) ? null : Math.max(0, Math.round((now - at) / 1000));
}
