import { describe, expect, it } from 'vitest';
import { alertKindOf, commandOf } from '../../src/metrics/bot-metrics.js';
import { BoundedLabel } from '../../src/metrics/labels.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { TailLag } from '../../src/metrics/tail-lag.js';
import { parseExposition, series, sampleValue } from './exposition.js';

describe("jobq's own metrics", () => {
  it('labels a request by its command, never by its free text', () => {
    expect(commandOf('/jobq stats --by task')).toBe('stats');
    expect(commandOf('/jobq-staging retry-all --queue emails')).toBe('retry-all');
    expect(commandOf('/jobq')).toBe('help');
    expect(commandOf('/jobq drop table users')).toBe('unknown');
    expect(commandOf('button bulk_confirm')).toBe('button:bulk_confirm');
    expect(commandOf('button <script>')).toBe('button:other');
  });

  it('labels a message jobq posted by what it was for', () => {
    const health = (key: string) => ({ event_type: 'jobq_health_alert', event_payload: { key } });
    expect(alertKindOf({ event_type: 'jobq_failure_alert', event_payload: {} })).toBe('failures');
    expect(alertKindOf({ event_type: 'jobq_failure_alert_reply', event_payload: {} })).toBe('failures');
    expect(alertKindOf(health('backlog:emails'))).toBe('backlog');
    expect(alertKindOf(health('db-unreachable'))).toBe('db-unreachable');
    expect(alertKindOf(health('something:new'))).toBe('other');
    expect(alertKindOf({ event_type: 'jobq_health_summary', event_payload: {} })).toBe('summary');
    expect(alertKindOf(undefined, true)).toBe('thread-reply');
    expect(alertKindOf(undefined)).toBe('other');
  });

  it('keeps a label to a bounded set of values, first come first kept', () => {
    const admitted: string[] = [];
    const label = new BoundedLabel(2, '_other', (v) => admitted.push(v));
    expect(['a', 'b', 'c', 'a', 'd'].map((v) => label.value(v))).toEqual(['a', 'b', '_other', 'a', '_other']);
    expect(admitted).toEqual(['a', 'b', '_other']);
  });

  it("measures the alert tail's lag from the first event it has not handled", () => {
    const lag = new TailLag();
    expect([lag.events(), lag.seconds(0)]).toEqual([0, 0]);
    lag.observe(100, 100, 1_000);
    expect([lag.events(), lag.seconds(1_000)]).toEqual([0, 0]);
    lag.observe(110, 100, 2_000); // 10 new events seen at t=2 s
    lag.observe(120, 100, 3_000);
    expect(lag.events()).toBe(20);
    expect(lag.seconds(7_000)).toBe(5); // keeps growing while nothing moves
    lag.observe(120, 110, 8_000); // the first ten handled: the rest were seen at t=3 s
    expect(lag.seconds(8_000)).toBe(5);
    lag.observe(120, 120, 9_000);
    expect([lag.events(), lag.seconds(9_000)]).toEqual([0, 0]);
    lag.observe(130, 120, 10_000);
    lag.stopped();
    expect([lag.events(), lag.seconds(20_000)]).toEqual([0, 0]);
  });

  it('exports what the parts report, with the process metrics', async () => {
    const metrics = createMetrics({ maxQueues: 10 });
    const before = parseExposition(await metrics.registry.metrics());
    // Not known before the first attempt, nor the collector's metrics before its first collection.
    expect(before.some((s) => s.name === 'jobq_database_reachable' || s.name.startsWith('jobq_metrics_'))).toBe(false);
    expect(before.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(sampleValue(before, 'jobq_alerts_posted_total', { kind: 'stalled' })).toBe(0);

    metrics.bot.commandFinished('/jobq stats', 'ok', 0.2);
    metrics.bot.commandFinished('/jobq retry 12', 'wrong_status', 0.03);
    metrics.bot.slackApiError(
      'chat.postMessage',
      Object.assign(new Error('An API error occurred: not_in_channel'), { code: 'slack_webapi_platform_error', data: { error: 'not_in_channel' } }),
    );
    metrics.bot.alertPosted({ event_type: 'jobq_health_alert', event_payload: { key: 'stalled' } }, false);
    metrics.bot.alertUpdated(undefined);
    metrics.bot.leader(true);
    metrics.bot.databaseReachable(false);
    const after = parseExposition(await metrics.registry.metrics());
    expect(sampleValue(after, 'jobq_command_duration_seconds_count', { command: 'stats', outcome: 'ok' })).toBe(1);
    expect(sampleValue(after, 'jobq_command_duration_seconds_bucket', { command: 'retry', outcome: 'wrong_status', le: '0.05' })).toBe(1);
    expect(series(after, 'jobq_slack_api_errors_total')).toEqual(new Map([['method=chat.postMessage,error=not_in_channel', 1]]));
    expect(sampleValue(after, 'jobq_alerts_posted_total', { kind: 'stalled' })).toBe(1);
    expect(sampleValue(after, 'jobq_alerts_updated_total', { kind: 'failures' })).toBe(1);
    expect(sampleValue(after, 'jobq_leader')).toBe(1);
    expect(sampleValue(after, 'jobq_database_reachable')).toBe(0);
  });
});
