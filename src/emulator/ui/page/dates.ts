/**
 * Slack's date formatting, as the reader sees it: `<!date^SECONDS^FORMAT^URL|fallback>` in mrkdwn
 * and the `date` element of rich text, rendered in the reader's own time zone and locale (the
 * browser's, unless told otherwise). No DOM here, so it is unit-tested in Node.
 */

export interface DateToken {
  /** Unix seconds. NaN when the token's number is not one. */
  timestamp: number;
  /** Text with {tokens}, e.g. "{date_short_pretty} at {time}". */
  format: string;
  /** The optional link around the whole date. */
  url?: string;
  /** What to show when the date cannot be formatted. */
  fallback: string;
}

/** Parses the inside of `<!date^…>` (without the angle brackets); undefined when it is not a date. */
export function parseDateToken(inner: string): DateToken | undefined {
  const bar = inner.indexOf('|');
  const head = bar >= 0 ? inner.slice(0, bar) : inner;
  const [keyword, seconds, format, ...link] = head.split('^');
  if (keyword !== '!date') return undefined;
  const token: DateToken = { timestamp: seconds && /^-?\d+$/.test(seconds) ? Number(seconds) : Number.NaN, format: format ?? '', fallback: bar >= 0 ? inner.slice(bar + 1) : '' };
  if (link.length > 0) token.url = link.join('^');
  return token;
}

export interface DateFormatOptions {
  /** What "today" and "ago" are relative to, in ms (default: now). */
  now?: number;
  /** IANA time zone (default: the reader's). */
  timeZone?: string;
  /** BCP 47 locale (default: the reader's). */
  locale?: string;
}

/**
 * The format with each {token} replaced, or undefined when the timestamp is not a number or a
 * token is unknown: Slack then shows the fallback text.
 */
export function formatSlackDate(timestamp: number, format: string, options: DateFormatOptions = {}): string | undefined {
  if (!Number.isFinite(timestamp) || format === '') return undefined;
  const date = new Date(timestamp * 1000);
  if (Number.isNaN(date.getTime())) return undefined;
  const calendar = new Calendar(date, options);
  let unknown = false;
  const text = format.replace(/\{([a-z_]+)\}/g, (whole, name: string) => {
    const value = calendar.token(name);
    if (value === undefined) unknown = true;
    return value ?? whole;
  });
  return unknown ? undefined : text;
}

const DAY_MS = 86_400_000;

/** `ago` units, largest first: [unit, seconds in it]. */
const AGO_UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86_400],
  ['month', 30 * 86_400],
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
];

class Calendar {
  private readonly now: Date;
  private readonly locale: string | undefined;
  private readonly timeZone: string | undefined;
  /** English gets Slack's own wording ("Tuesday, February 18th, 2014"); other locales Intl's. */
  private readonly english: boolean;

  constructor(
    private readonly date: Date,
    options: DateFormatOptions,
  ) {
    this.now = new Date(options.now ?? Date.now());
    this.locale = options.locale;
    this.timeZone = options.timeZone;
    this.english = new Intl.DateTimeFormat(this.locale).resolvedOptions().locale.startsWith('en');
  }

  token(name: string): string | undefined {
    switch (name) {
      case 'date_num': {
        const { year, month, day } = this.numbers(this.date);
        return `${year}-${pad(month)}-${pad(day)}`;
      }
      case 'date_slash': {
        const { year, month, day } = this.numbers(this.date);
        return `${pad(day)}/${pad(month)}/${year}`;
      }
      case 'date':
        return this.long({ weekday: false, year: true });
      case 'date_short':
        return this.format({ month: 'short', day: 'numeric', year: 'numeric' });
      case 'date_long':
        return this.long({ weekday: true, year: true });
      case 'date_long_full':
        return this.format({ month: 'long', day: 'numeric', year: 'numeric' });
      case 'date_pretty':
        return this.relativeDay() ?? this.token('date');
      case 'date_short_pretty':
        return this.relativeDay() ?? this.token('date_short');
      case 'date_long_pretty':
        return this.relativeDay() ?? this.token('date_long');
      case 'day_divider_pretty':
        return this.relativeDay() ?? this.long({ weekday: true, year: this.numbers(this.date).year !== this.numbers(this.now).year });
      case 'time':
        return this.format({ hour: 'numeric', minute: '2-digit' });
      case 'time_secs':
        return this.format({ hour: 'numeric', minute: '2-digit', second: '2-digit' });
      case 'ago':
        return this.ago();
      default:
        return undefined;
    }
  }

  private format(options: Intl.DateTimeFormatOptions, date = this.date): string {
    // ICU puts a narrow no-break space before AM/PM; Slack shows a plain one.
    return new Intl.DateTimeFormat(this.locale, { ...options, timeZone: this.timeZone }).format(date).replace(/\u202f/g, ' ');
  }

  private numbers(date: Date): { year: number; month: number; day: number } {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: this.timeZone, year: 'numeric', month: 'numeric', day: 'numeric' }).formatToParts(date);
    const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
    return { year: get('year'), month: get('month'), day: get('day') };
  }

  private long({ weekday, year }: { weekday: boolean; year: boolean }): string {
    if (!this.english) return this.format({ ...(weekday ? { weekday: 'long' } : {}), month: 'long', day: 'numeric', ...(year ? { year: 'numeric' } : {}) });
    const { day, year: y } = this.numbers(this.date);
    const month = this.format({ month: 'long' });
    const text = `${month} ${day}${ordinal(day)}${year ? `, ${y}` : ''}`;
    return weekday ? `${this.format({ weekday: 'long' })}, ${text}` : text;
  }

  /** today, yesterday or tomorrow in the reader's calendar, else undefined. */
  private relativeDay(): string | undefined {
    const dayOf = (date: Date) => {
      const { year, month, day } = this.numbers(date);
      return Date.UTC(year, month - 1, day) / DAY_MS;
    };
    const offset = dayOf(this.date) - dayOf(this.now);
    if (Math.abs(offset) > 1) return undefined;
    return new Intl.RelativeTimeFormat(this.locale, { numeric: 'auto' }).format(offset, 'day');
  }

  private ago(): string {
    const seconds = (this.date.getTime() - this.now.getTime()) / 1000;
    const [unit, size] = AGO_UNITS.find(([, unitSeconds]) => Math.abs(seconds) >= unitSeconds) ?? ['second', 1];
    return new Intl.RelativeTimeFormat(this.locale, { numeric: 'always' }).format(Math.trunc(seconds / size), unit);
  }
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function ordinal(day: number): string {
  if (day >= 11 && day <= 13) return 'th';
  return ['th', 'st', 'nd', 'rd'][day % 10] ?? 'th';
}
