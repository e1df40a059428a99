import type { BulkPreview } from '../../commands/execute.js';
import type { BulkKind, BulkProgress, BulkResult } from '../../commands/writes.js';
import type { PausedQueue, PauseResult, ResumeResult } from '../../queue/pause.js';
import { formatAge } from '../format.js';
import { localTime } from '../time.js';
import { fitTable, PLAIN, type TextStyle, timeCell } from './style.js';
import { purgePreviewText, purgeProgressText, purgeResultText, retryAllPreviewText, retryAllProgressText, retryAllResultText } from './writes.js';

/** Terminal renderings of the changes that are previewed and confirmed (bulk changes, pausing every queue, lifting another's pause). */

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * What a preview asks: the headline question (Slack), the terminal prompt, what its Confirm
 * button says, and what confirming does.
 */
export function bulkQuestion(p: BulkPreview): { question: string; prompt: string; confirm: string; danger: boolean; consequence: string } {
  const atLeast = p.preview.exact ? '' : 'at least ';
  switch (p.bulk) {
    case 'retry-all':
      return {
        question: `Retry ${atLeast}${plural(p.preview.total, 'failed job')}?`,
        prompt: `Retry ${atLeast}${p.preview.total} jobs?`,
        confirm: `Retry ${p.preview.total}`,
        danger: false,
        consequence: 'The jobs go back to todo in batches and run again.',
      };
    case 'purge':
      return {
        question: `Purge ${atLeast}${plural(p.preview.total, 'old job')}?`,
        prompt: `Delete ${atLeast}${p.preview.total} jobs?`,
        confirm: `Delete ${p.preview.total}`,
        danger: true,
        consequence: 'Deleted jobs and their events cannot be brought back.',
      };
    case 'pause-all': {
      const question = `Pause ${plural(p.preview.total, 'queue')}?`;
      return { question, prompt: question, confirm: `Pause ${p.preview.total}`, danger: true, consequence: 'Workers stop taking new jobs from every queue; running jobs finish.' };
    }
    case 'resume-key': {
      const question = `Lift the "${p.preview.key}" pause of ${p.preview.queue}?`;
      return {
        question,
        prompt: question,
        confirm: 'Lift it',
        danger: true,
        consequence: 'Someone else set this pause; workers take the queue again unless another key still pauses it.',
      };
    }
  }
}

export function bulkPreviewText(p: BulkPreview, when: (iso: string) => string = localTime): string {
  switch (p.bulk) {
    case 'retry-all':
      return retryAllPreviewText(p.preview);
    case 'purge':
      return purgePreviewText(p.preview, when);
    case 'pause-all':
      if (p.preview.total === 0)
        return p.preview.alreadyPaused.length ? `Every known queue is already paused by jobq (${p.preview.alreadyPaused.join(', ')}).` : 'No queue is known yet: nothing to pause.';
      return [
        `These queues would be paused (workers on Procrastinate 3.10+ stop taking their jobs; running jobs finish):`,
        `  ${p.preview.queues.join(', ')}`,
        ...(p.preview.alreadyPaused.length ? [`Already paused by jobq: ${p.preview.alreadyPaused.join(', ')}`] : []),
        ...(p.preview.reason ? [`Reason: ${p.preview.reason}`] : []),
      ].join('\n');
    case 'resume-key':
      if (p.preview.total === 0) return `${p.preview.queue} is not paused under key "${p.preview.key}": nothing to lift.`;
      return `${p.preview.queue} has been paused under key "${p.preview.key}" since ${when(p.preview.pausedAt!)}. That pause was not set through jobq (its key is not "jobq"): lifting it overrides whoever set it.`;
  }
}

export function bulkProgressText(p: BulkProgress): string {
  return p.bulk === 'retry-all' ? retryAllProgressText(p.progress) : purgeProgressText(p.progress);
}

export function bulkResultText(r: BulkResult): string {
  switch (r.bulk) {
    case 'retry-all':
      return retryAllResultText(r.result);
    case 'purge':
      return purgeResultText(r.result);
    case 'pause-all':
      return pauseText(r.result);
    case 'resume-key':
      return resumeText(r.result);
  }
}

/** The verb a bulk change goes by in announcements ("retry-all confirmed by …"). */
export const BULK_NAME: Record<BulkKind, string> = { 'retry-all': 'retry-all', purge: 'purge', 'pause-all': 'pause --all', 'resume-key': 'resume --key' };

export function pauseText(r: PauseResult): string {
  const lines = [];
  if (r.paused.length)
    lines.push(
      `Paused ${r.paused.join(', ')}: workers on Procrastinate 3.10+ take no new jobs from ${r.paused.length === 1 ? 'it' : 'them'}; running jobs finish. \`resume\` lets them work again.`,
    );
  if (r.alreadyPaused.length) lines.push(`Already paused by jobq: ${r.alreadyPaused.join(', ')}.`);
  if (r.reason) lines.push(`Reason: ${r.reason}`);
  return lines.join('\n') || 'Nothing to pause.';
}

export function resumeText(r: ResumeResult): string {
  const lines = r.resumed.map(
    (p) =>
      `Resumed ${p.queue}${r.key !== 'jobq' ? ` (lifted key "${r.key}")` : ''}: it had been paused for ${formatAge(Math.round((Date.now() - Date.parse(p.pausedAt)) / 1000))}.`,
  );
  for (const s of r.stillPaused)
    lines.push(
      `${s.queue} stays paused under ${s.keys.map((k) => `"${k}"`).join(', ')}: workers still skip it. \`resume ${s.queue} --key ${s.keys[0]}\` lifts that too, after a confirmation.`,
    );
  return lines.join('\n');
}

export function pausedText(paused: PausedQueue[], style: TextStyle = PLAIN): string {
  if (paused.length === 0) return 'No queue is paused: workers take jobs from every queue.';
  const rows = paused.map((p) => [
    p.queue,
    p.key,
    timeCell(p.pausedAt, style),
    formatAge(Math.round((Date.now() - Date.parse(p.pausedAt)) / 1000)),
    p.pausedBy ?? (p.key === 'jobq' ? '?' : 'not through jobq'),
    p.reason ?? '',
  ]);
  return fitTable(
    [
      { header: 'QUEUE', minWidth: 10 },
      { header: 'KEY', drop: 2 },
      { header: 'SINCE', drop: 3 },
      { header: 'FOR' },
      { header: 'BY', drop: 4 },
      { header: 'REASON', minWidth: 10, drop: 1 },
    ],
    rows,
    style,
  );
}
