import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type AlertMetadata, METADATA_TYPE } from '../alerts/poster.js';
import { isCommandName } from '../commands/definitions.js';
import { ALERT_NAMES } from '../config.js';
import type { TailRecorder } from '../alerts/failures.js';
import type { LeaderRecorder } from '../alerts/leadership.js';
import type { PosterRecorder } from '../alerts/poster.js';
import type { ReachabilityRecorder } from '../queue/handle.js';
import { classifySlackError } from '../slack/errors.js';
import type { CommandRecorder } from '../slack/guard.js';
import { BoundedLabel } from './labels.js';
import { TailLag } from './tail-lag.js';

/** What a post or an update of jobq's own messages was for (the `kind` label). */
export const ALERT_KINDS = [...ALERT_NAMES, 'summary', 'mute-note', 'thread-reply', 'other'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Seconds from a request's arrival to its final answer: 10 ms to a minute. */
const COMMAND_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Distinct commands (slash command names and buttons) and Slack methods and errors kept as label values. */
const MAX_COMMANDS = 64;
const MAX_SLACK_LABELS = 100;

const isAlertName = (value: string): value is (typeof ALERT_NAMES)[number] => (ALERT_NAMES as readonly string[]).includes(value);

/**
 * The kind of a message from its metadata: failure alerts and their replies, each health alert
 * by name (its key is `backlog:<queue>` and the like), summaries, mute notes. Repeats and
 * "resolved" replies in a health alert's thread carry no metadata.
 */
export function alertKindOf(metadata: AlertMetadata | undefined, inThread = false): AlertKind {
  switch (metadata?.event_type) {
    case METADATA_TYPE.failure:
    case METADATA_TYPE.failureReply:
      return 'failures';
    case METADATA_TYPE.health: {
      const name = String(metadata.event_payload.key ?? '').split(':')[0] ?? '';
      return isAlertName(name) ? name : 'other';
    }
    case METADATA_TYPE.summary:
      return 'summary';
    case METADATA_TYPE.muteNote:
      return 'mute-note';
    case undefined:
      return inThread ? 'thread-reply' : 'other';
    default:
      return 'other';
  }
}

/**
 * The command of a request label ("/jobq stats --by task" -> stats, "button retry_confirm" ->
 * button:retry_confirm): never free text, which would make a series per request.
 */
export function commandOf(label: string): string {
  const [first = '', second = ''] = label.trim().split(/\s+/);
  if (first === 'button') return /^[a-z0-9_:-]{1,60}$/i.test(second) ? `button:${second}` : 'button:other';
  if (second === '') return 'help';
  return isCommandName(second) ? second : 'unknown';
}

/**
 * jobq's own metrics (`jobq_*`): what the bot's parts report as they work. One instance per
 * process, passed by main.ts to each part as the small recorder interface that part declares
 * (tests make their own); every method is cheap and synchronous.
 */
export class BotMetrics implements CommandRecorder, PosterRecorder, TailRecorder, LeaderRecorder, ReachabilityRecorder {
  private readonly commandSeconds: Histogram<'command' | 'outcome'>;
  private readonly slackErrors: Counter<'method' | 'error'>;
  private readonly posted: Counter<'kind'>;
  private readonly updated: Counter<'kind'>;
  private readonly leaderGauge: Gauge;
  private readonly reachable: Gauge;
  private readonly collectSeconds: Gauge;
  private readonly collectedAt: Gauge;
  private readonly collectErrors: Counter;
  private readonly eventsBehind: Gauge;
  private readonly tail = new TailLag();
  private readonly commands = new BoundedLabel(MAX_COMMANDS, 'other');
  private readonly slackMethods = new BoundedLabel(MAX_SLACK_LABELS, 'other');
  private readonly slackCodes = new BoundedLabel(MAX_SLACK_LABELS, 'other');
  private reachableKnown = false;
  private collecting = false;

  /**
   * `perEnvironment`: with several environments, each has its own BotMetrics (in a registry
   * labelled env="NAME") for what belongs to one database (leader, reachability, alerts, the
   * tail, the collector); the shared one then exports only command latency and Slack errors, so
   * no unlabelled jobq_leader 0 stands beside the real ones.
   */
  constructor(
    private readonly registry: Registry,
    options: { perEnvironment?: boolean } = {},
  ) {
    const registers = [registry];
    const own = options.perEnvironment ? [] : registers;
    const tail = this.tail;
    this.commandSeconds = new Histogram({
      name: 'jobq_command_duration_seconds',
      help: 'Time from a slash command or button click to its final answer, by command and outcome (ok, or the error code: usage, forbidden, db_unreachable...).',
      labelNames: ['command', 'outcome'],
      buckets: COMMAND_BUCKETS,
      registers,
    });
    this.slackErrors = new Counter({
      name: 'jobq_slack_api_errors_total',
      help: "Slack Web API calls that failed when jobq posted on its own (alerts, summaries), by method and Slack's error (not_in_channel, http_503, ECONNREFUSED...).",
      labelNames: ['method', 'error'],
      registers,
    });
    this.posted = new Counter({ name: 'jobq_alerts_posted_total', help: 'Messages jobq posted on its own, by kind.', labelNames: ['kind'], registers: own });
    this.updated = new Counter({ name: 'jobq_alerts_updated_total', help: 'Updates of messages jobq posted on its own, by kind.', labelNames: ['kind'], registers: own });
    for (const kind of ALERT_KINDS) {
      this.posted.inc({ kind }, 0);
      this.updated.inc({ kind }, 0);
    }
    new Gauge({
      name: 'jobq_alert_tail_lag_seconds',
      help: 'How long the oldest event the failure alert tail has not handled yet has been waiting (0 when caught up, or on a replica that does not lead).',
      registers: own,
      collect() {
        this.set(tail.seconds());
      },
    });
    new Gauge({
      name: 'jobq_alert_tail_lag_events',
      help: 'Events written since the failure alert tail last moved its cursor (0 on a replica that does not lead).',
      registers: own,
      collect() {
        this.set(tail.events());
      },
    });
    this.leaderGauge = new Gauge({
      name: 'jobq_leader',
      help: '1 while this replica is the elected alerting leader, else 0 (always 0 when alerts are not configured).',
      registers: own,
    });
    this.reachable = new Gauge({
      name: 'jobq_database_reachable',
      help: "1 when jobq's last use of the database reached it, 0 when it could not connect (exported from the first attempt on).",
      registers: [],
    });
    // The collector's own metrics appear with its first collection: none when it is turned off.
    this.collectSeconds = new Gauge({ name: 'jobq_metrics_collect_duration_seconds', help: 'How long the last collection of the queue metrics took.', registers: [] });
    this.collectedAt = new Gauge({
      name: 'jobq_metrics_last_success_timestamp_seconds',
      help: 'When the queue metrics were last collected successfully (Unix time, 0 before the first); the procrastinate_* values are from then.',
      registers: [],
    });
    this.collectErrors = new Counter({ name: 'jobq_metrics_collect_errors_total', help: 'Collections of the queue metrics that failed.', registers: [] });
    this.eventsBehind = new Gauge({
      name: 'jobq_metrics_events_behind',
      help: 'Events not yet counted in procrastinate_job_events_total (left for the next collections).',
      registers: [],
    });
  }

  /** A request got its final answer (`outcome`: ok, or the JobqError code). */
  commandFinished(label: string, outcome: string, seconds: number): void {
    this.commandSeconds.observe({ command: this.commands.value(commandOf(label)), outcome }, seconds);
  }

  /** A Slack Web API call failed. */
  slackApiError(method: string, error: unknown): void {
    const code = classifySlackError(error)?.code ?? 'unknown';
    this.slackErrors.inc({ method: this.slackMethods.value(method), error: this.slackCodes.value(code) });
  }

  alertPosted(metadata: AlertMetadata | undefined, inThread: boolean): void {
    this.posted.inc({ kind: alertKindOf(metadata, inThread) });
  }

  /** A failure alert's update carries no metadata (the message keeps what it was posted with). */
  alertUpdated(metadata: AlertMetadata | undefined): void {
    this.updated.inc({ kind: metadata ? alertKindOf(metadata) : 'failures' });
  }

  /** The failure alert tail's position after a poll: the newest event id it saw and its cursor. */
  alertTail(newest: number, cursor: number): void {
    this.tail.observe(newest, cursor);
  }

  alertTailStopped(): void {
    this.tail.stopped();
  }

  leader(isLeader: boolean): void {
    this.leaderGauge.set(isLeader ? 1 : 0);
  }

  databaseReachable(up: boolean): void {
    if (!this.reachableKnown) {
      this.registry.registerMetric(this.reachable);
      this.reachableKnown = true;
    }
    this.reachable.set(up ? 1 : 0);
  }

  /** One collection of the queue metrics ended. */
  collected(outcome: { ok: boolean; seconds: number; eventsBehind: number }): void {
    if (!this.collecting) {
      for (const metric of [this.collectSeconds, this.collectedAt, this.collectErrors, this.eventsBehind]) this.registry.registerMetric(metric);
      this.collecting = true;
    }
    this.collectSeconds.set(outcome.seconds);
    this.eventsBehind.set(outcome.eventsBehind);
    if (outcome.ok) this.collectedAt.set(Date.now() / 1000);
    else this.collectErrors.inc();
  }
}
