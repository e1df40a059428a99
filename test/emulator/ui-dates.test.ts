import { describe, expect, it } from 'vitest';
import { formatSlackDate, parseDateToken } from '../../src/emulator/ui/page/dates.js';

/** Slack's date tokens as the emulator's page formats them, for a reader in a given time zone. */

const TS = 1392734382; // 2014-02-18T14:39:42Z
const NOW = Date.UTC(2014, 1, 18, 20, 0, 0); // later that day, in UTC
const at = (format: string, timeZone = 'UTC', now = NOW) => formatSlackDate(TS, format, { now, timeZone, locale: 'en-US' });

describe('date tokens on the emulator page', () => {
  it('formats every documented token the way Slack words it', () => {
    const farFuture = Date.UTC(2015, 5, 1);
    expect(at('{date_num}')).toBe('2014-02-18');
    expect(at('{date_slash}')).toBe('18/02/2014');
    expect(at('{date}', 'UTC', farFuture)).toBe('February 18th, 2014');
    expect(at('{date_short}')).toBe('Feb 18, 2014');
    expect(at('{date_long}')).toBe('Tuesday, February 18th, 2014');
    expect(at('{date_long_full}')).toBe('February 18, 2014');
    expect(at('{time}')).toBe('2:39 PM');
    expect(at('{time_secs}')).toBe('2:39:42 PM');
    expect(at('{ago}')).toBe('5 hours ago');
    expect(at('{ago}', 'UTC', Date.UTC(2014, 1, 11))).toBe('in 7 days');
    expect(at('{day_divider_pretty}', 'UTC', farFuture)).toBe('Tuesday, February 18th, 2014');
    expect(at('{day_divider_pretty}', 'UTC', Date.UTC(2014, 10, 1))).toBe('Tuesday, February 18th');
    expect(formatSlackDate(1_700_000_001, '{date} {date_long}', { timeZone: 'UTC', locale: 'en-US' })).toBe('November 14th, 2023 Tuesday, November 14th, 2023');
    expect(formatSlackDate(1_700_956_800, '{date}', { timeZone: 'UTC', locale: 'en-US' })).toBe('November 26th, 2023');
    expect(formatSlackDate(1_699_660_800, '{date}', { timeZone: 'UTC', locale: 'en-US' })).toBe('November 11th, 2023');
  });

  it('says today, yesterday or tomorrow in the pretty forms, in the reader’s own calendar', () => {
    expect(at('{date_short_pretty} at {time}')).toBe('today at 2:39 PM');
    expect(at('{date_pretty}', 'UTC', NOW + 86_400_000)).toBe('yesterday');
    expect(at('{date_long_pretty}', 'UTC', NOW - 86_400_000)).toBe('tomorrow');
    expect(at('{date_short_pretty}', 'UTC', NOW + 3 * 86_400_000)).toBe('Feb 18, 2014');
    // 23:39 in Tokyo: already the 18th there, and 'now' (05:00 on the 19th) is the day after.
    expect(at('{date_short_pretty} {time}', 'Asia/Tokyo')).toBe('yesterday 11:39 PM');
    expect(at('{date_num} {time}', 'America/Los_Angeles')).toBe('2014-02-18 6:39 AM');
    expect(formatSlackDate(TS, '{date_long} {time}', { now: NOW, timeZone: 'Europe/Berlin', locale: 'de-DE' })).toBe('Dienstag, 18. Februar 2014 15:39');
  });

  it('gives up (so the fallback shows) on an unknown token or a timestamp that is not a number', () => {
    expect(at('{date_num} {weekday}')).toBeUndefined();
    expect(at('')).toBeUndefined();
    expect(formatSlackDate(Number.NaN, '{date}')).toBeUndefined();
    expect(at('plain words, no tokens')).toBe('plain words, no tokens');
  });

  it('parses <!date^…> with its format, optional link and fallback', () => {
    expect(parseDateToken('!date^1392734382^{date_short_pretty} {time}|Feb 18, 2014 6:39 AM')).toEqual({
      timestamp: TS,
      format: '{date_short_pretty} {time}',
      fallback: 'Feb 18, 2014 6:39 AM',
    });
    expect(parseDateToken('!date^1392734382^{date}^https://example.com/jobs/1|fallback')).toEqual({
      timestamp: TS,
      format: '{date}',
      url: 'https://example.com/jobs/1',
      fallback: 'fallback',
    });
    expect(parseDateToken('!date^soon^{date}|whenever')).toMatchObject({ timestamp: Number.NaN, fallback: 'whenever' });
    expect(parseDateToken('!here')).toBeUndefined();
    expect(parseDateToken('!subteam^S1|@oncall')).toBeUndefined();
  });
});
