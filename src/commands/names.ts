import { ALERT_NAMES } from '../config.js';
import { asJobqError, JobqError } from '../errors.js';
import type { QueueContext } from '../queue/context.js';
import { knownQueues, knownTasks, queueExists } from '../queue/names.js';
import { nearest } from '../suggest.js';
import type { ParsedCommand } from './parse.js';

/**
 * A queue or task name that does not exist must not read as an all-clear ("No failed jobs 🎉" for
 * `--queue email` when the queue is `emails`). Checked before reads, previews and silences; each
 * check is one index probe, a loose index scan, or a bounded primary-key range.
 */

const listed = (names: string[]) => (names.length <= 12 ? names.map((n) => `\`${n}\``).join(', ') : `${names.length} of them (\`stats\` lists them)`);

async function assertQueue(ctx: QueueContext, queue: string | undefined): Promise<void> {
  if (queue === undefined || (await queueExists(ctx, queue))) return;
  const known = await knownQueues(ctx);
  const guess = nearest(queue, known.names);
  throw new JobqError('not_found', `No queue \`${queue}\`.${guess ? ` Did you mean \`${guess}\`?` : ''}`, {
    hint: known.names.length ? `Queues with jobs: ${listed(known.names)}.` : 'No job has been deferred yet: there are no queues.',
    runbookSection: 'reading-the-stats',
  });
}

/** Throws when the task surely does not exist; returns a note when it may be older than the names read. */
async function checkTask(ctx: QueueContext, task: string | undefined): Promise<string | null> {
  if (task === undefined) return null;
  const known = await knownTasks(ctx);
  if (known.names.includes(task)) return null;
  const guess = nearest(task, known.names);
  if (known.complete) {
    throw new JobqError('not_found', `No task \`${task}\`.${guess ? ` Did you mean \`${guess}\`?` : ''}`, {
      hint: known.names.length ? `Tasks with jobs: ${listed(known.names)}.` : 'No job has been deferred yet: there are no tasks.',
      runbookSection: 'reading-the-stats',
    });
  }
  return `Task \`${task}\` is not among the tasks of the newest ${known.examinedJobs?.toLocaleString('en-US')} jobs${guess ? `; a similar one is \`${guess}\`` : ''}.`;
}

/**
 * A silence on a name nothing has: refused when a known name is near (a typo), with the way to
 * mute a name that does not exist yet; otherwise accepted with a note saying so.
 */
async function checkMuteTarget(ctx: QueueContext, target: string): Promise<string | null> {
  if (/^(queue|task|alert):/.test(target)) return null;
  try {
    return await lookUpMuteTarget(ctx, target);
  } catch (error) {
    // Silencing needs only jobq's own tables: a role that may not read the jobs still may mute.
    if (asJobqError(error).code !== 'db_permission') throw error;
    return `jobq may not read the jobs table, so \`${target}\` was not checked against the queue and task names.`;
  }
}

async function lookUpMuteTarget(ctx: QueueContext, target: string): Promise<string | null> {
  if ((ALERT_NAMES as readonly string[]).includes(target) || (await queueExists(ctx, target))) return null;
  const tasks = await knownTasks(ctx);
  if (tasks.names.includes(target)) return null;
  const queues = await knownQueues(ctx);
  const guess = nearest(target, [...queues.names, ...tasks.names, ...ALERT_NAMES]);
  const tasksSaid = tasks.complete ? 'task' : `task among the newest ${tasks.examinedJobs?.toLocaleString('en-US')} jobs`;
  if (guess) {
    throw new JobqError('not_found', `Nothing is named \`${target}\`: no queue, no ${tasksSaid}, no alert. Did you mean \`${guess}\`?`, {
      hint: `To silence a name that has no jobs yet, say which it is: \`mute queue:${target} …\` or \`mute task:${target} …\`.`,
      runbookSection: 'silencing-alerts',
    });
  }
  return `No queue, ${tasksSaid} or alert is named \`${target}\` yet: the silence applies once one is.`;
}

/** Checks the names a command filters on; a note to show with its answer, or null. */
export async function checkNames(ctx: QueueContext, command: ParsedCommand): Promise<string | null> {
  switch (command.name) {
    case 'failed':
    case 'retry-all': {
      await assertQueue(ctx, command.queue);
      return checkTask(ctx, command.task);
    }
    case 'purge':
      await assertQueue(ctx, command.queue);
      return null;
    case 'mute':
      return checkMuteTarget(ctx, command.target);
    default:
      return null;
  }
}
