import type { EnvironmentStatus } from '../../queue/environment-status.js';
import { type Cell, type Column, fitTable, PLAIN, type TextStyle } from './style.js';

/** `jobq envs`: one row per environment. */
export function environmentsText(list: readonly EnvironmentStatus[], style: TextStyle = PLAIN): string {
  const columns: Column[] = [{ header: 'ENV' }, { header: 'STATE' }, { header: 'DATABASE', drop: 2 }, { header: 'CHANNELS', drop: 1 }, { header: 'ALERTS', drop: 3 }];
  const rows: Cell[][] = list.map((e) => [
    e.name,
    { text: e.ok ? `ready: ${e.detail}` : `NOT READY: ${e.detail}`, paint: [!e.ok && 'red'] },
    e.database,
    e.channels.join(', ') || '-',
    e.alertChannel ?? '-',
  ]);
  return fitTable(columns, rows, style);
}
