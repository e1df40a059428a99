import { localTime, relativeTime, utcShort } from '../time.js';
import type { Thresholds } from '../status.js';

/**
 * How terminal text is drawn: colour or not, how wide, and whether times are shown relative.
 * The CLI decides (a TTY, NO_COLOR, FORCE_COLOR, --no-color, COLUMNS); renderers only obey, so
 * the same result piped to a file is plain, stable text.
 */
export interface TextStyle {
  color: boolean;
  /** Width to fit tables into; null: no limit (piped output keeps every column). */
  columns: number | null;
  /** A person reads this at a terminal: ages ("4 min ago") next to, or instead of, times. */
  relative: boolean;
  /** Backlog thresholds, so a queue over its own shows as such. */
  thresholds?: Thresholds | undefined;
  /** "Now" for relative times (tests pin it). */
  now?: number | undefined;
  /** Times in UTC: text that ends up in a Slack code block, where date tokens do not render. */
  utc?: boolean | undefined;
}

export const PLAIN: TextStyle = { color: false, columns: null, relative: false };

/** Text for a Slack code block: plain, every column, times in UTC (the bot's time zone is nobody's). */
export const SLACK_CODE: TextStyle = { ...PLAIN, utc: true };

export type Paint = 'bold' | 'dim' | 'red' | 'yellow' | 'green' | 'cyan';

const CODES: Record<Paint, [number, number]> = { bold: [1, 22], dim: [2, 22], red: [31, 39], yellow: [33, 39], green: [32, 39], cyan: [36, 39] };

/** ANSI colour, only when the style allows it. */
export function paint(style: TextStyle, text: string, ...how: (Paint | undefined | false)[]): string {
  if (!style.color || text === '') return text;
  return how.reduce<string>((t, p) => (p ? `\u001b[${CODES[p][0]}m${t}\u001b[${CODES[p][1]}m` : t), text);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes start with ESC
const ANSI = /\u001b\[[0-9;]*m/g;

/** What a terminal shows: the text without ANSI codes, counted in code points. */
export function visibleLength(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

/** A time in a table cell: relative at a terminal (short), else local time with offset. */
export function timeCell(iso: string | null, style: TextStyle): string {
  if (style.utc) return iso ? utcShort(iso) : '-';
  return style.relative ? relativeTime(iso, style.now) : localTime(iso);
}

/** A time on a line of its own: local time with offset, plus the age at a terminal. */
export function timeLine(iso: string | null, style: TextStyle): string {
  if (!iso) return '-';
  if (style.utc) return utcShort(iso);
  return style.relative ? `${localTime(iso)} (${relativeTime(iso, style.now)})` : localTime(iso);
}

export interface Column {
  header: string;
  align?: 'left' | 'right';
  /** Dropped first when the table is too wide: lower goes first; undefined is never dropped. */
  drop?: number;
  /** May be cut down (with …) to this width before any column is dropped. */
  minWidth?: number;
}

/** A cell: its text, and how to paint it once the table is laid out (cutting never splits a colour). */
export type Cell = string | { text: string; paint?: (Paint | undefined | false)[] };

const textOf = (cell: Cell | undefined) => (cell === undefined ? '' : typeof cell === 'string' ? cell : cell.text);

function cutTo(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

const GAP = 2;

/**
 * A table that fits the terminal: columns that may shrink are cut first (widest first, never
 * below their minimum), then the least useful columns are dropped, and a note says which.
 */
export function fitTable(columns: Column[], rows: Cell[][], style: TextStyle): string {
  let shown = columns.map((_, i) => i);
  const natural = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => [...textOf(r[i])].length)));
  const widths = [...natural];
  const total = () => shown.reduce((n, i) => n + widths[i]!, 0) + GAP * (shown.length - 1);
  const limit = style.columns;
  const dropped: string[] = [];
  if (limit !== null) {
    const shrink = () => {
      for (const i of [...shown].sort((a, b) => widths[b]! - widths[a]!)) {
        const min = columns[i]!.minWidth;
        if (min === undefined || total() <= limit) continue;
        widths[i] = Math.max(min, widths[i]! - (total() - limit), columns[i]!.header.length);
      }
    };
    shrink();
    while (total() > limit) {
      const candidates = shown.filter((i) => columns[i]!.drop !== undefined).sort((a, b) => columns[a]!.drop! - columns[b]!.drop!);
      const victim = candidates[0];
      if (victim === undefined) break;
      shown = shown.filter((i) => i !== victim);
      dropped.push(columns[victim]!.header.toLowerCase());
      for (const i of shown) widths[i] = natural[i]!;
      shrink();
    }
  }
  const line = (cells: Cell[], header: boolean) =>
    shown
      .map((i, k) => {
        const cell = cells[i];
        const text = cutTo(textOf(cell), widths[i]!);
        const padding = ' '.repeat(Math.max(0, widths[i]! - [...text].length));
        const painted = header ? paint(style, text, 'bold') : typeof cell === 'object' && cell.paint ? paint(style, text, ...cell.paint) : text;
        const last = k === shown.length - 1;
        return columns[i]!.align === 'right' ? padding + painted : last ? painted : painted + padding;
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  const lines = [
    line(
      columns.map((c) => c.header),
      true,
    ),
    ...rows.map((r) => line(r, false)),
  ];
  if (dropped.length) lines.push(paint(style, `(left out to fit ${limit} columns: ${dropped.join(', ')})`, 'dim'));
  return lines.join('\n');
}

/**
 * Prose wrapped to the terminal at spaces, keeping each line's indentation; lines that already
 * fit (every table line) are untouched. A colour running across a break carries on, as terminals do.
 */
export function wrapText(text: string, columns: number | null): string {
  if (columns === null) return text;
  return text
    .split('\n')
    .flatMap((line) => {
      if (visibleLength(line) <= columns) return [line];
      const indent = /^\s*/.exec(line)![0];
      const out: string[] = [];
      let current = '';
      for (const word of line.slice(indent.length).split(' ')) {
        const next = current ? `${current} ${word}` : word;
        if (current && visibleLength(indent) + visibleLength(next) > columns) {
          out.push(indent + current);
          current = word;
        } else current = next;
      }
      if (current) out.push(indent + current);
      return out.map((l, i) => (i === 0 ? l : `${indent}  ${l.slice(indent.length)}`));
    })
    .join('\n');
}
