/** Small formatting helpers shared by the text and Block Kit renderers. */

import { relativeTime, utcShort } from './time.js';

export function formatCount(n: number, estimated = false): string {
  const prefix = estimated ? '~' : '';
  if (!estimated || n < 10_000) return prefix + n.toLocaleString('en-US');
  if (n < 1_000_000) return `${prefix}${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  return `${prefix}${(n / 1_000_000).toFixed(1)}M`;
}

/** A count as shown in stats: exact, or an estimate with its rough bound (`~4,980 ±310`). */
export function formatStatusCount(n: number, estimated: boolean, margin?: number): string {
  if (!estimated) return formatCount(n);
  return margin === undefined ? formatCount(n, true) : `${formatCount(n, true)} ±${formatCount(margin, true).slice(1)}`;
}

export function formatAge(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
}

/** A fixed-width table for terminals. */
export function table(headers: string[], rows: string[][], rightAlign: Set<number> = new Set()): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (rightAlign.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Where a heavy read came from, when that is worth saying: a replica and its lag, or why not the replica. */
export function sourceLine(
  source: { kind: 'primary'; fallback?: string } | { kind: 'replica'; lagSeconds: number },
  answeredAt?: { at: string } | undefined,
  now = Date.now(),
): string | null {
  const lines: string[] = [];
  if (source.kind === 'replica')
    lines.push(`Read from the replica, ${source.lagSeconds < 1 ? 'less than a second' : formatAge(Math.round(source.lagSeconds))} behind the primary.`);
  else if (source.fallback) lines.push(`Read from the primary: ${source.fallback}.`);
  // A shared answer says how old it is, so nobody mistakes it for a fresh read.
  if (answeredAt) lines.push(`Answer shared with the same question asked ${relativeTime(answeredAt.at, now)} (read at ${utcShort(answeredAt.at)}).`);
  return lines.length ? lines.join(' ') : null;
}
