import { parseArgs } from 'node:util';
import { JobqError } from '../errors.js';
import { MUTE_MAX_SECONDS } from '../queue/limits.js';
import { nearest } from '../suggest.js';
import { COMMAND_NAMES, type CommandName, DEFINITIONS, isCommandName } from './definitions.js';
import { parseDuration, parseTimeAgo, shown } from './time.js';
import { COMMAND_TEXT_MAX, checkName, parseJobId, parseName, parseReason } from './values.js';

/** A command as typed data: what the user asked for, validated, with no front-specific parts. */
export type ParsedCommand =
  | { name: 'help'; topic: CommandName | null }
  | { name: 'stats'; groupBy: 'queue' | 'task' }
  | { name: 'failed'; queue?: string; task?: string; since?: Date; before?: Date; limit?: number; cursor?: number }
  | { name: 'job'; id: number }
  | { name: 'stalled'; heartbeatSeconds?: number; runningSeconds?: number; limit?: number }
  | { name: 'workers' }
  | { name: 'doctor'; apply: boolean; yes: boolean }
  | { name: 'retry'; id: number }
  | { name: 'retry-all'; queue?: string; task?: string; since?: Date; before?: Date; yes: boolean; dryRun: boolean }
  | { name: 'cancel'; id: number }
  | { name: 'run-now'; id: number }
  | { name: 'purge'; olderThanSeconds: number; queue?: string; includeFailed: boolean; yes: boolean; dryRun: boolean }
  | { name: 'audit'; limit?: number; cursor?: number }
  | { name: 'pause'; queue: string | null; reason: string | null; yes: boolean; dryRun: boolean }
  | { name: 'resume'; queue: string | null; key: string | null; yes: boolean; dryRun: boolean }
  | { name: 'paused' }
  | { name: 'mute'; target: string; durationSeconds: number; reason: string | null }
  | { name: 'unmute'; target: string }
  | { name: 'mutes' }
  | { name: 'envs' };

/** Splits command text like a shell would: whitespace, with "double" or 'single' quotes. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  // Chat clients turn "--" into an em or en dash; read them back as the flag prefix.
  const normalized = text
    .replace(/[\u2014\u2013](?=[a-z])/g, '--')
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u2018\u2019]/g, "'");
  for (const match of normalized.matchAll(pattern)) tokens.push(match[1] ?? match[2] ?? match[3]!);
  return tokens;
}

const intIn = (flag: string, min: number, max: number) => (value: string | undefined) => {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new JobqError('usage', `${flag} takes a whole number from ${min} to ${max} (got "${shown(value)}").`);
  }
  return Number(value);
};

function usageError(command: CommandName, problem: string): JobqError {
  return new JobqError('usage', `${problem}\nUsage: jobq ${DEFINITIONS[command].usage}`, { runbookSection: DEFINITIONS[command].runbook });
}

/** Options every command takes besides its own (CLI: --json, --no-color; both fronts: --help). */
const GLOBAL_OPTIONS = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, 'no-color': { type: 'boolean' } } as const;

/** "Unknown command "retyr". Did you mean `retry`?" with the list, so a typo never reads as an answer. */
function unknownCommand(typed: string): JobqError {
  const guess = nearest(typed, COMMAND_NAMES);
  return new JobqError('usage', `Unknown command "${shown(typed)}".${guess ? ` Did you mean \`${guess}\`?` : ''} Commands: ${COMMAND_NAMES.join(', ')}.`, {
    hint: guess ? `\`${guess} --help\` shows its options and an example.` : '`help` describes each command.',
    runbookSection: 'using-jobq',
  });
}

/** Node's parseArgs message for an unknown or misused option, with the nearest option this command has. */
function optionProblem(command: CommandName, error: Error & { code?: string }): string {
  const message = error.message.replace(/\. To specify.*$/s, '.');
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(error.message)?.[1];
  if (error.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || !unknown) return message;
  const names = [...Object.keys(DEFINITIONS[command].options), ...Object.keys(GLOBAL_OPTIONS)];
  const guess = nearest(unknown.replace(/^-+/, '').split('=')[0]!, names);
  return `Unknown option ${unknown} for \`${command}\`.${guess ? ` Did you mean --${guess}?` : ''}${
    names.length > 3
      ? ` Options: ${
          names
            .filter((n) => !(n in GLOBAL_OPTIONS))
            .map((n) => `--${n}`)
            .join(', ') || 'none'
        }.`
      : ''
  }`;
}

/** `--older-than`: an age (30d, 36h, 90m) or, as before, a bare number of days. */
function parseAge(value: string): number {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const days = Number(text);
    if (days < 1 || days > 36_500) throw new JobqError('usage', `--older-than takes an age from 1m to 36500d (got "${shown(value)}").`);
    return days * 86_400;
  }
  const seconds = parseDuration(text, '--older-than', 36_500 * 86_400);
  if (seconds < 60) throw new JobqError('usage', `--older-than is at least 1m: a job that finished seconds ago is still being looked at (got "${shown(value)}").`);
  return seconds;
}

/** Parses tokens (`["failed", "--queue", "emails"]`) into a typed command, or a usage error. */
export function parseCommand(tokens: string[]): ParsedCommand {
  if (tokens.reduce((n, t) => n + t.length + 1, 0) > COMMAND_TEXT_MAX) {
    throw new JobqError('usage', `That command is longer than ${COMMAND_TEXT_MAX} characters: no jobq command needs that much.`, { runbookSection: 'using-jobq' });
  }
  const [first, ...rest] = tokens;
  if (first === undefined || first === '--help' || first === '-h') return { name: 'help', topic: null };
  const command = first.toLowerCase();
  if (!isCommandName(command)) throw unknownCommand(first);
  const definition = DEFINITIONS[command];
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: { ...definition.options, ...GLOBAL_OPTIONS },
      allowPositionals: true,
      strict: true,
    }) as { values: Record<string, string | boolean | undefined>; positionals: string[] });
  } catch (error) {
    throw usageError(command, optionProblem(command, error as Error));
  }
  if (values.help) return { name: 'help', topic: command };
  const str = (key: string) => {
    const value = values[key];
    if (value === undefined) return undefined;
    const checked = checkName(value);
    if ('problem' in checked) throw usageError(command, `--${key} ${checked.problem}.`);
    return checked.name;
  };
  const noPositionals = () => {
    if (positionals.length > 0) throw usageError(command, `Unexpected argument "${shown(positionals[0]!)}".`);
  };
  const wrap = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof JobqError && error.code === 'usage' && !error.message.includes('\nUsage: ')) throw usageError(command, error.message);
      throw error;
    }
  };

  return wrap((): ParsedCommand => {
    if (definition.takesId) {
      if (positionals.length !== 1) throw usageError(command, positionals.length === 0 ? 'Which job? Give its id.' : 'Give exactly one job id.');
      const id = parseJobId(positionals[0]);
      return { name: command as 'job' | 'retry' | 'cancel' | 'run-now', id };
    }
    switch (command) {
      case 'help': {
        const topic = positionals[0];
        if (topic === undefined) return { name: 'help', topic: null };
        if (!isCommandName(topic)) throw unknownCommand(topic);
        return { name: 'help', topic };
      }
      case 'stats': {
        noPositionals();
        const by = str('by') ?? 'queue';
        if (by !== 'queue' && by !== 'task') throw usageError(command, `--by takes "queue" or "task" (got "${shown(by)}").`);
        return { name: 'stats', groupBy: by };
      }
      case 'failed': {
        noPositionals();
        return compact({
          name: 'failed' as const,
          queue: str('queue'),
          task: str('task'),
          since: values.since === undefined ? undefined : parseTimeAgo(String(values.since), '--since'),
          before: values.before === undefined ? undefined : parseTimeAgo(String(values.before), '--before'),
          limit: intIn('--limit', 1, 100)(str('limit')),
          cursor: intIn('--cursor', 1, Number.MAX_SAFE_INTEGER)(str('cursor')),
        });
      }
      case 'stalled': {
        noPositionals();
        return compact({
          name: 'stalled' as const,
          heartbeatSeconds: values.heartbeat === undefined ? undefined : parseDuration(String(values.heartbeat), '--heartbeat'),
          runningSeconds: values.running === undefined ? undefined : parseDuration(String(values.running), '--running'),
          limit: intIn('--limit', 1, 200)(str('limit')),
        });
      }
      case 'pause': {
        const all = values.all === true;
        const [queue, ...reason] = all ? [null, ...positionals] : positionals;
        if (!all && queue === undefined) throw usageError(command, 'Say which queue to pause, e.g. `pause emails deploying the mailer fix`, or `pause --all`.');
        return {
          name: 'pause',
          queue: queue === null || queue === undefined ? null : parseName(queue, 'The queue'),
          reason: parseReason(reason.join(' ')),
          yes: values.yes === true,
          dryRun: values['dry-run'] === true,
        };
      }
      case 'resume': {
        const all = values.all === true;
        if (all === (positionals.length === 1) || positionals.length > 1)
          throw usageError(command, 'Say which queue to resume (`resume emails`), or `resume --all` for every queue jobq paused.');
        const key = str('key') ?? null;
        if (all && key) throw usageError(command, '--key lifts one pause at a time: name the queue.');
        return { name: 'resume', queue: all ? null : parseName(positionals[0], 'The queue'), key, yes: values.yes === true, dryRun: values['dry-run'] === true };
      }
      case 'doctor':
        noPositionals();
        if (values.yes === true && values.apply !== true) throw usageError(command, '--yes confirms --apply: add --apply to create the recommended indexes.');
        return { name: 'doctor', apply: values.apply === true, yes: values.yes === true };
      case 'workers':
      case 'paused':
      case 'mutes':
      case 'envs':
        noPositionals();
        return { name: command };
      case 'mute': {
        const [target, duration, ...reason] = positionals;
        if (target === undefined || duration === undefined) throw usageError(command, 'Say what to mute and for how long, e.g. `mute emails 2h deploying the mailer fix`.');
        return {
          name: 'mute',
          target: parseName(target, 'What to mute'),
          durationSeconds: parseDuration(duration, 'The duration', MUTE_MAX_SECONDS),
          reason: parseReason(reason.join(' ')),
        };
      }
      case 'unmute': {
        if (positionals.length !== 1) throw usageError(command, 'Say which silence to end, e.g. `unmute emails` (`mutes` lists them).');
        return { name: 'unmute', target: parseName(positionals[0], 'What to unmute') };
      }
      case 'retry-all': {
        noPositionals();
        return compact({
          name: 'retry-all' as const,
          queue: str('queue'),
          task: str('task'),
          since: values.since === undefined ? undefined : parseTimeAgo(String(values.since), '--since'),
          before: values.before === undefined ? undefined : parseTimeAgo(String(values.before), '--before'),
          yes: values.yes === true,
          dryRun: values['dry-run'] === true,
        });
      }
      case 'purge': {
        noPositionals();
        const age = str('older-than');
        if (age === undefined) throw usageError(command, '--older-than AGE is required: how long ago a job must have finished to go (30d, 36h).');
        return compact({
          name: 'purge' as const,
          olderThanSeconds: parseAge(age),
          queue: str('queue'),
          includeFailed: values['include-failed'] === true,
          yes: values.yes === true,
          dryRun: values['dry-run'] === true,
        });
      }
      case 'audit': {
        noPositionals();
        return compact({ name: 'audit' as const, limit: intIn('--limit', 1, 100)(str('limit')), cursor: intIn('--cursor', 1, Number.MAX_SAFE_INTEGER)(str('cursor')) });
      }
      default:
        throw usageError(command, 'Unexpected arguments.');
    }
  });
}

/** Drops undefined keys, so a command carries only the options that were given (and JSON shows only those). */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Whether the tokens ask for JSON output (CLI only). */
export function wantsJson(tokens: string[]): boolean {
  return tokens.includes('--json');
}

/** Whether the tokens turn colour off (CLI only; NO_COLOR does the same). */
export function refusesColor(tokens: string[]): boolean {
  return tokens.includes('--no-color');
}
