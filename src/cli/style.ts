import type { TextStyle } from '../render/text/style.js';
import type { CliIo } from './io.js';

/**
 * How this run draws text, from the usual conventions: colour on a terminal unless NO_COLOR (any
 * value) or --no-color says otherwise, forced by FORCE_COLOR (not 0/false) even when piped; tables
 * fit COLUMNS (or the terminal's width); relative ages only for a person at a terminal.
 */
export function styleFor(io: CliIo, argv: string[]): TextStyle {
  const env = io.env;
  const tty = io.tty === true;
  const force = env.FORCE_COLOR !== undefined && !['0', 'false'].includes(env.FORCE_COLOR.toLowerCase());
  const noColor = (env.NO_COLOR !== undefined && env.NO_COLOR !== '') || argv.includes('--no-color') || env.TERM === 'dumb';
  const fromEnv = Number(env.COLUMNS);
  const columns = Number.isInteger(fromEnv) && fromEnv >= 20 ? fromEnv : tty && io.columns && io.columns >= 20 ? io.columns : null;
  return { color: !noColor && (force || tty), columns, relative: tty };
}
