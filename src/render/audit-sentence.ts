import type { AuditEntry } from '../queue/audit.js';
import { formatCount } from './format.js';

/**
 * An audit entry as a sentence: "retried 13 failed jobs in `emails` (since 2h)". The record keeps
 * everything (filters as stored, preview tokens, confirmation ids: `audit --json`); the sentence
 * keeps what a person asks of it: who did what to which jobs, and how it ended.
 *
 * Parts come back separately so Slack can mention the actor and format the time for each reader.
 */
export interface AuditSentence {
  /** What was done, after the actor: "retried 13 failed jobs in `emails` (since 2h)". Names in backticks. */
  did: string;
  /** "done", "running (40 so far)", "refused: You may not change the queue.", "failed: …", "stopped". */
  outcome: string;
  /** The outcome is not a success: show it so. */
  bad: boolean;
}

const plural = (n: number, one: string, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;
const tick = (name: string) => `\`${name.replace(/`/g, 'ˋ')}\``;
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null);

/** "2h", "30m", "3d": a span in its largest whole unit. */
export function compactDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 86_400 && s % 86_400 === 0) return `${s / 86_400}d`;
  if (s >= 86_400) return `${Math.round(s / 3_600)}h`;
  if (s >= 3_600) return s % 3_600 === 0 ? `${s / 3_600}h` : `${Math.round(s / 60)}m`;
  if (s >= 60) return `${Math.round(s / 60)}m`;
  return `${s}s`;
}

/** "in `emails`, task `app.send` (since 2h)": where a bulk change applied. */
function scope(f: Record<string, unknown>, at: string): string {
  const queue = str(f.queue);
  const queues = Array.isArray(f.queues) ? f.queues.filter((q): q is string => typeof q === 'string') : null;
  const task = str(f.task);
  const since = str(f.failedSince) ?? str(f.since);
  const before = str(f.failedBefore) ?? str(f.before);
  const where = queue ? ` in ${tick(queue)}` : queues?.length ? ` in ${queues.map(tick).join(', ')}` : '';
  const what = task ? ` of task ${tick(task)}` : '';
  const ago = (iso: string) => compactDuration((Date.parse(at) - Date.parse(iso)) / 1000);
  const when = [since && `since ${ago(since)}`, before && `failed more than ${ago(before)} before`].filter(Boolean).join(', ');
  return `${where}${what}${when ? ` (${when})` : ''}`;
}

function did(e: AuditEntry): string {
  const f = e.filters ?? {};
  const job = num(f.jobId) ?? num(f.id);
  const jobRef = job !== null ? `job #${job}` : 'a job';
  const done = e.outcome === 'ok' || e.outcome === 'stopped';
  const tried = !done && e.outcome !== 'running';
  switch (e.action) {
    case 'retry':
      return tried ? `tried to retry ${jobRef}` : `retried ${jobRef}`;
    case 'cancel':
      return tried ? `tried to cancel ${jobRef}` : `cancelled ${jobRef}`;
    case 'run_now':
      return tried ? `tried to run ${jobRef} now` : `ran ${jobRef} now`;
    case 'retry_all': {
      if (str(f.confirmation)) return `${str(f.click) === 'cancel' ? 'cancelled' : 'confirmed'} a retry-all preview`;
      const where = scope(f, e.at);
      if (e.outcome === 'running') return `is retrying failed jobs${where} (${formatCount(e.jobCount)} so far)`;
      return tried ? `tried to retry failed jobs${where}` : `retried ${plural(e.jobCount, 'failed job')}${where}`;
    }
    case 'purge': {
      if (str(f.confirmation)) return `${str(f.click) === 'cancel' ? 'cancelled' : 'confirmed'} a purge preview`;
      const seconds = num(f.olderThanSeconds) ?? (num(f.olderThanDays) !== null ? num(f.olderThanDays)! * 86_400 : null);
      const age = seconds !== null ? ` older than ${compactDuration(seconds)}` : '';
      const where = str(f.queue) ? ` in ${tick(str(f.queue)!)}` : '';
      const failed = f.includeFailed === true ? ', failed ones included' : '';
      if (e.outcome === 'running') return `is purging finished jobs${age}${where} (${formatCount(e.jobCount)} so far)`;
      return tried ? `tried to purge finished jobs${age}${where}` : `purged ${plural(e.jobCount, 'finished job')}${age}${where}${failed}`;
    }
    case 'mute': {
      const target = str(f.target);
      const seconds = num(f.seconds);
      const reason = str(f.reason);
      return `${tried ? 'tried to mute' : 'muted'} ${target ? tick(target) : 'alerts'}${seconds !== null ? ` for ${compactDuration(seconds)}` : ''}${reason ? ` ("${reason}")` : ''}`;
    }
    case 'unmute': {
      const target = str(f.target);
      return `${tried ? 'tried to unmute' : 'unmuted'} ${target ? tick(target) : 'alerts'}`;
    }
    case 'pause': {
      const queues = Array.isArray(f.queues) ? f.queues.filter((q): q is string => typeof q === 'string') : str(f.queue) ? [str(f.queue)!] : [];
      const reason = str(f.reason);
      const what = queues.length ? queues.map(tick).join(', ') : 'every queue';
      return `${tried ? 'tried to pause' : 'paused'} ${what}${reason ? ` ("${reason}")` : ''}`;
    }
    case 'resume': {
      const queues = Array.isArray(f.queues) ? f.queues.filter((q): q is string => typeof q === 'string') : str(f.queue) ? [str(f.queue)!] : [];
      const key = str(f.key);
      const what = queues.length ? queues.map(tick).join(', ') : 'every queue jobq paused';
      return `${tried ? 'tried to resume' : 'resumed'} ${what}${key && key !== 'jobq' ? ` (lifting key "${key}")` : ''}`;
    }
    case 'confirmation':
      return `clicked ${str(f.click) ?? 'a button'} on a preview jobq no longer knows`;
    default:
      return `${e.action.replace(/_/g, '-')}${job !== null ? ` ${jobRef}` : ''}`;
  }
}

/** The first sentence of a message, short: the reason of a refusal or failure. */
function firstSentence(message: string | null): string {
  if (!message) return '';
  const first = message.split('\n')[0]!.replace(/\s+/g, ' ').trim();
  const end = first.search(/[.!?](\s|$)/);
  const sentence = end > 0 ? first.slice(0, end + 1) : first;
  return sentence.length > 160 ? `${sentence.slice(0, 159)}…` : sentence;
}

export function auditSentence(e: AuditEntry): AuditSentence {
  switch (e.outcome) {
    case 'ok':
      return { did: did(e), outcome: 'done', bad: false };
    case 'running':
      return { did: did(e), outcome: 'running', bad: false };
    case 'stopped':
      return { did: did(e), outcome: `stopped after ${formatCount(e.jobCount)}`, bad: true };
    case 'refused':
      return { did: did(e), outcome: `refused${e.message ? `: ${firstSentence(e.message)}` : ''}`, bad: true };
    default:
      return { did: did(e), outcome: `failed${e.message ? `: ${firstSentence(e.message)}` : ''}`, bad: true };
  }
}
