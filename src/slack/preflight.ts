import { webApi } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Config } from '../config.js';
import { JobqError } from '../errors.js';
import { channelProblem, classifySlackError, missingScopeProblem, tokenProblem, TOKEN_ERRORS, type SlackProblem } from './errors.js';
import type { Logger } from '../log.js';
import { slackClientOptions } from './client.js';
import { boltLogger } from './logger.js';
import { BOT_SCOPE_NAMES } from './scopes.js';

export type { SlackProblem } from './errors.js';

/** A channel jobq posts to on its own, and the variable that names it. */
export interface ConfiguredChannel {
  variable: string;
  channel: string;
}

export interface PreflightResult {
  /** False only when Slack rejected the token (invalid_auth, token_revoked, account_inactive...). */
  ok: boolean;
  /** False when Slack could not be reached at all (network, 5xx): nothing was checked. */
  reachable: boolean;
  botUserId: string | null;
  botId: string | null;
  problems: SlackProblem[];
  checkedAt: string;
}

/**
 * The alert, audit and summary channels, each with the variable that sets it; with several
 * environments, `environment` names whose setting it is, so a warning points at the right entry.
 */
export function configuredChannels(config: Config, environment?: string): ConfiguredChannel[] {
  const list: ConfiguredChannel[] = [];
  if (config.JOBQ_ALERT_CHANNEL) list.push({ variable: 'JOBQ_ALERT_CHANNEL', channel: config.JOBQ_ALERT_CHANNEL });
  if (config.JOBQ_AUDIT_CHANNEL) list.push({ variable: 'JOBQ_AUDIT_CHANNEL', channel: config.JOBQ_AUDIT_CHANNEL });
  for (const [i, s] of config.JOBQ_SUMMARY_SCHEDULES.entries()) list.push({ variable: `JOBQ_SUMMARY_SCHEDULES[${i}].channel`, channel: s.channel });
  return environment ? list.map((c) => ({ ...c, variable: `${c.variable} of environment ${environment}` })) : list;
}

type ChannelInfo = { is_archived?: boolean; is_member?: boolean; is_im?: boolean };

/**
 * Checks what Slack will let jobq do before it starts: the token (auth.test), the scopes it was
 * granted (Slack's x-oauth-scopes header, which the WebClient puts in response_metadata.scopes)
 * against manifest.yml's, and for each configured channel that it exists, is not archived and
 * has the bot in it. Never throws for a Slack answer; a network failure gives `reachable: false`.
 */
export async function runSlackPreflight(client: WebClient, config: Config, channels = configuredChannels(config)): Promise<PreflightResult> {
  const checkedAt = new Date().toISOString();
  let auth: Awaited<ReturnType<WebClient['auth']['test']>>;
  try {
    auth = await client.auth.test();
  } catch (error) {
    const failure = classifySlackError(error);
    if (failure && TOKEN_ERRORS.has(failure.code)) return { ok: false, reachable: true, botUserId: null, botId: null, problems: [tokenProblem(failure.code)], checkedAt };
    if (failure?.kind === 'transient' || failure?.kind === 'rate_limited') {
      return { ok: true, reachable: false, botUserId: null, botId: null, problems: [unreachableProblem(config, failure.code)], checkedAt };
    }
    throw error;
  }

  const problems: SlackProblem[] = [];
  const granted = auth.response_metadata?.scopes;
  // Without the header (a proxy that drops it) the scopes are unknown, not missing.
  const missing = granted ? BOT_SCOPE_NAMES.filter((scope) => !granted.includes(scope)) : [];
  problems.push(...missing.map(missingScopeProblem));

  const infos = new Map<string, Promise<ChannelInfo | { error: unknown }>>();
  for (const target of channels) {
    if (!infos.has(target.channel)) {
      infos.set(
        target.channel,
        client.conversations.info({ channel: target.channel }).then(
          (r) => (r.channel ?? {}) as ChannelInfo,
          (error: unknown) => ({ error }),
        ),
      );
    }
    const info = await infos.get(target.channel)!;
    if ('error' in info) {
      const failure = classifySlackError(info.error);
      if (!failure) throw info.error;
      const problem = channelProblem(failure, target);
      // A missing channels:read is already listed once; say nothing more per channel.
      if (failure.code === 'missing_scope' && problems.some((p) => p.message === problem.message)) continue;
      problems.push(problem);
    } else if (info.is_archived) {
      problems.push(channelProblem({ kind: 'fix', code: 'is_archived' }, target));
    } else if (info.is_member === false && !info.is_im) {
      problems.push(channelProblem({ kind: 'fix', code: 'not_in_channel' }, target));
    }
  }
  return { ok: true, reachable: true, botUserId: auth.user_id ?? null, botId: auth.bot_id ?? null, problems: dedupe(problems), checkedAt };
}

function unreachableProblem(config: Config, code: string): SlackProblem {
  const where = config.SLACK_API_URL ? 'SLACK_API_URL' : 'slack.com';
  return {
    variable: config.SLACK_API_URL ? 'SLACK_API_URL' : 'SLACK_BOT_TOKEN',
    code: 'unreachable',
    message: `Slack could not be reached to check the token, scopes and channels (${code})`,
    fix: `jobq carries on and checks again; check the network path (proxy, firewall, DNS) from this host to ${where}, and status.slack.com`,
  };
}

function dedupe(problems: SlackProblem[]): SlackProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.variable}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The preflight as `jobq serve` runs it before starting: a token Slack rejects is a JobqError
 * (config_invalid) whose one-line message names SLACK_BOT_TOKEN and what to check; everything
 * else (Slack unreachable, missing scopes or invites) is returned for the bot to warn about.
 */
export async function preflightAtStart(client: WebClient, config: Config, channels = configuredChannels(config)): Promise<PreflightResult> {
  const result = await runSlackPreflight(client, config, channels);
  if (!result.ok) {
    const problem = result.problems[0]!;
    throw new JobqError('config_invalid', `${problem.message}: ${problem.fix}.`, { runbookSection: 'slack-preflight-warnings' });
  }
  return result;
}

/** A WebClient for checks: the bot's options, but one quick retry, so a start never waits long on a dead network. */
export function preflightClient(config: Config, log?: Logger): WebClient {
  return new webApi.WebClient(config.SLACK_BOT_TOKEN, {
    ...slackClientOptions(config),
    retryConfig: { retries: 1, factor: 2, minTimeout: 500, maxTimeout: 500, randomize: false },
    ...(log ? { logger: boltLogger(log) } : { logLevel: webApi.LogLevel.ERROR }),
  });
}

/** For `jobq doctor`: the preflight's problems as warnings, when a bot token is configured. */
export async function slackDoctorWarnings(config: Config): Promise<{ code: string; message: string; hint: string }[]> {
  if (!config.SLACK_BOT_TOKEN) return [];
  let result: PreflightResult;
  try {
    result = await runSlackPreflight(preflightClient(config), config);
  } catch (error) {
    return [
      {
        code: 'slack_check_failed',
        message: `The Slack checks failed: ${String((error as Error)?.message ?? error)}`,
        hint: 'Run the bot with LOG_LEVEL=debug and look at the Slack calls.',
      },
    ];
  }
  return result.problems.map((p) => ({ code: `slack_${p.code}`, message: `${p.message}.`, hint: capitalize(p.fix) }));
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
