import type { KnownBlock } from '@slack/types';
import type { HealthSummary, Outcomes } from '../../queue/summary.js';
import { formatAge, formatCount } from '../format.js';
import { runbookUrl } from '../runbook.js';
import { code, context, escapeMrkdwn, header, message, section, type SlackMessage } from './kit.js';
import { slackTime } from './alerts.js';
import type { RenderOptions } from './reads.js';

/** The scheduled health summary. Pure: data in, blocks out. */

const BARS = '▁▂▃▄▅▆▇█';

/** ▁▂▃▄▅▆▇█ scaled to the largest value; zero is the lowest bar. */
export function sparkline(values: number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => (max === 0 || v <= 0 ? BARS[0] : BARS[Math.min(7, Math.max(1, Math.round((v / max) * 7)))])).join('');
}

const percent = (rate: number | null) => (rate === null ? '-' : `${(rate * 100).toFixed(rate < 0.1 ? 1 : 0)}%`);

/** "40 ▲ (was 10)": the change against the previous period, arrows only when it moved. */
function versus(now: number, before: number): string {
  if (now === before) return `${formatCount(now)} (same)`;
  return `${formatCount(now)} ${now > before ? '▲' : '▼'} (was ${formatCount(before)})`;
}

function rateVersus(now: Outcomes, before: Outcomes): string {
  if (now.failureRate === null) return 'no jobs finished';
  return `failure rate ${percent(now.failureRate)}${before.failureRate === null ? '' : ` (was ${percent(before.failureRate)})`}`;
}

export function summaryBlocks(s: HealthSummary, options: RenderOptions): SlackMessage {
  const t = s.totals;
  const hours = s.bucketSeconds / 3_600;
  const lines = s.queues.map(
    (q) =>
      `*${escapeMrkdwn(q.name)}* · backlog ${formatCount(q.todo)}${q.oldestWaitSeconds !== null ? ` (oldest ${formatAge(q.oldestWaitSeconds)})` : ''} · failed ${versus(q.current.failed, q.previous.failed)} · done ${formatCount(q.current.succeeded)} · ${rateVersus(q.current, q.previous)}`,
  );
  const body: KnownBlock[] = [
    header('Queue health summary'),
    context(`${slackTime(s.from)} → ${slackTime(s.to)}, compared with the period before${s.estimated ? ' · _busy period: figures scaled from the newest events_' : ''}`),
    section(
      [
        `*All queues:* failed ${versus(t.current.failed, t.previous.failed)} · done ${formatCount(t.current.succeeded)} · ${rateVersus(t.current, t.previous)} · backlog ${formatCount(t.todo)}`,
        `*Failures per ${hours === 1 ? 'hour' : `${hours} hours`}:* \`${sparkline(s.failuresPerBucket)}\` (max ${formatCount(Math.max(0, ...s.failuresPerBucket))})`,
        `*Stalled jobs:* ${s.stalled.count}${s.stalled.truncated ? '+' : ''} · *Workers:* ${s.workers ? `${s.workers.live} live of ${s.workers.total}` : 'not tracked before Procrastinate 3.1'}`,
      ].join('\n'),
    ),
  ];
  for (let i = 0; i < lines.length; i += 10) body.push(section(lines.slice(i, i + 10).join('\n')));
  if (s.topFailingTasks.length) {
    body.push(section(`*Top failing tasks*\n${s.topFailingTasks.map((x) => `• ${code(x.task)} in ${code(x.queue)}: ${versus(x.failed, x.previousFailed)}`).join('\n')}`));
  }
  const text = `Queue health: ${formatCount(t.current.failed)} failed, ${formatCount(t.current.succeeded)} done, backlog ${formatCount(t.todo)}, ${s.stalled.count} stalled`;
  return message(text, body, [
    context(
      `\`/jobq stats\` · \`/jobq failed\` · \`/jobq stalled\` · \`/jobq workers\` · 📖 <${runbookUrl(options.runbookBase, 'scheduled-health-summaries')}|Reading this summary> · <${runbookUrl(options.runbookBase, 'triaging-failed-jobs')}|Triaging failed jobs>`,
    ),
  ]);
}
