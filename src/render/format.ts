/** Small formatting helpers shared by the text and Block Kit renderers. */

export function formatCount(n: number, estimated = false): string {
  const prefix = estimated ? '~' : '';
  if (!estimated || n < 10_000) return prefix + n.toLocaleString('en-US');
  if (n < 1_000_000) return `${prefix}${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  return `${prefix}${(n / 1_000_000).toFixed(1)}M`;
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
export function sourceLine(source: { kind: 'primary'; fallback?: string } | { kind: 'replica'; lagSeconds: number }): string | null {
  if (source.kind === 'replica') return `Read from the replica, ${source.lagSeconds < 1 ? 'less than a second' : formatAge(Math.round(source.lagSeconds))} behind the primary.`;
  return source.fallback ? `Read from the primary: ${source.fallback}.` : null;
}
