import { BOT_SCOPES } from './scopes.js';

/**
 * Slack's errors sorted by what jobq can do about them, and the one sentence that tells an
 * operator the fix. Used by the start-up preflight, every post jobq makes on its own, and doctor.
 *
 * - `fix`: stays broken until someone acts (invite the bot, unarchive, add a scope, new token);
 *   jobq keeps what it wanted to post and tries again with backoff.
 * - `rate_limited`: Slack said 429 (the WebClient already waited for Retry-After and gave up).
 * - `transient`: 5xx, network, timeout: Slack or the path to it is having trouble.
 * - `refused`: Slack refused this message itself (msg_too_long, invalid_blocks...): a jobq bug.
 */
export type SlackFailureKind = 'fix' | 'rate_limited' | 'transient' | 'refused';

export interface SlackFailure {
  kind: SlackFailureKind;
  /** Slack's error (`not_in_channel`), `http_503`, or the network error code (`ECONNREFUSED`). */
  code: string;
  /** For missing_scope: the scope Slack asked for. */
  needed?: string;
}

/** What is wrong, which variable it concerns, and what to do. */
export interface SlackProblem {
  variable: string;
  code: string;
  message: string;
  fix: string;
}

/** Codes that mean the token itself is no good: jobq cannot work with Slack at all. */
export const TOKEN_ERRORS: ReadonlySet<string> = new Set(['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive', 'not_allowed_token_type']);

const CHANNEL_ERRORS: ReadonlySet<string> = new Set(['channel_not_found', 'not_in_channel', 'is_archived']);
const FIX_ERRORS: ReadonlySet<string> = new Set([...TOKEN_ERRORS, ...CHANNEL_ERRORS, 'missing_scope', 'restricted_action', 'ekm_access_denied']);
const TRANSIENT_PLATFORM_ERRORS: ReadonlySet<string> = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

type WebApiErrorShape = {
  code?: unknown;
  message?: unknown;
  data?: { error?: unknown; needed?: unknown };
  statusCode?: unknown;
  original?: { name?: unknown; code?: unknown; cause?: { code?: unknown } };
};

/** The Slack failure behind an error from @slack/web-api, or null when it is not one (a database error, a bug). */
export function classifySlackError(error: unknown): SlackFailure | null {
  if (error === null || typeof error !== 'object') return null;
  const e = error as WebApiErrorShape;
  switch (e.code) {
    case 'slack_webapi_platform_error': {
      const code = typeof e.data?.error === 'string' ? e.data.error : 'unknown_error';
      if (code === 'ratelimited') return { kind: 'rate_limited', code };
      if (TRANSIENT_PLATFORM_ERRORS.has(code)) return { kind: 'transient', code };
      if (code === 'missing_scope') return { kind: 'fix', code, ...(typeof e.data?.needed === 'string' ? { needed: e.data.needed } : {}) };
      return { kind: FIX_ERRORS.has(code) ? 'fix' : 'refused', code };
    }
    case 'slack_webapi_http_error': {
      const status = Number(e.statusCode);
      return { kind: status === 429 ? 'rate_limited' : 'transient', code: `http_${status}` };
    }
    case 'slack_webapi_rate_limited_error':
      return { kind: 'rate_limited', code: 'ratelimited' };
    case 'slack_webapi_request_error': {
      const original = e.original;
      const code = original?.cause?.code ?? original?.code;
      const timedOut = original?.name === 'TimeoutError' || original?.name === 'AbortError';
      return { kind: 'transient', code: typeof code === 'string' ? code : timedOut ? 'timeout' : 'network' };
    }
  }
  // The WebClient gives up on repeated 429s with a plain Error (see makeRequest in @slack/web-api).
  if (typeof e.message === 'string' && e.message.startsWith('A rate limit was exceeded')) return { kind: 'rate_limited', code: 'ratelimited' };
  return null;
}

const scopeUse = (scope: string) => BOT_SCOPES.find((s) => s.scope === scope)?.usedFor;

const ADD_SCOPE = 'add it under OAuth & Permissions -> Bot Token Scopes (or update the app from manifest.yml), then reinstall the app to the workspace';

/** The problem a missing scope causes, named after the token that lacks it. */
export function missingScopeProblem(scope: string): SlackProblem {
  const use = scopeUse(scope);
  return {
    variable: 'SLACK_BOT_TOKEN',
    code: 'missing_scope',
    message: `SLACK_BOT_TOKEN lacks the scope ${scope}${use ? ` (${use})` : ''}`,
    fix: ADD_SCOPE,
  };
}

/** The problem a token error causes (invalid_auth, token_revoked, account_inactive...). */
export function tokenProblem(code: string): SlackProblem {
  return {
    variable: 'SLACK_BOT_TOKEN',
    code,
    message: `Slack rejected SLACK_BOT_TOKEN (${code})`,
    fix: "check it is this workspace's Bot User OAuth Token (xoxb-..., under OAuth & Permissions), that the app is still installed and the token not revoked; then restart jobq",
  };
}

/**
 * The problem behind a failure to post to (or read) a configured channel, e.g.
 * "JOBQ_ALERT_CHANNEL=C0123: the bot is not in this channel" / "invite it: /invite @jobq".
 */
export function channelProblem(failure: SlackFailure, target: { variable: string; channel: string }): SlackProblem {
  const at = `${target.variable}=${target.channel}`;
  const { code } = failure;
  const problem = (message: string, fix: string): SlackProblem => ({ variable: target.variable, code, message: `${at}: ${message}`, fix });
  if (TOKEN_ERRORS.has(code)) return { ...tokenProblem(code), variable: 'SLACK_BOT_TOKEN' };
  if (code === 'missing_scope') return failure.needed ? missingScopeProblem(failure.needed) : problem('the bot token lacks a scope this needs', ADD_SCOPE);
  switch (code) {
    case 'channel_not_found':
      return problem(
        'Slack knows no such channel (or it is private and the bot is not in it)',
        `check the ID (channel name -> About -> Channel ID, like C0123ABCD; not the #name), or invite the bot to the private channel: /invite @jobq`,
      );
    case 'not_in_channel':
      return problem('the bot is not in this channel', 'invite it: /invite @jobq in that channel');
    case 'is_archived':
      return problem('the channel is archived', `unarchive it, or set ${target.variable} to a live channel and restart`);
  }
  switch (failure.kind) {
    case 'rate_limited':
      return problem(
        'Slack is rate limiting the bot (429)',
        'nothing to do unless it lasts: jobq waits for Retry-After and keeps what it has to post; lower JOBQ_ALERT_MAX_PER_MINUTE if it does',
      );
    case 'transient':
      return problem(
        failure.code.startsWith('http_') ? `Slack answered HTTP ${failure.code.slice(5)}` : `Slack could not be reached (${failure.code})`,
        'jobq keeps what it has to post and retries with backoff; if it lasts, check status.slack.com and the network path (proxy, firewall, DNS) from this host to slack.com',
      );
    default:
      return problem(`Slack refused the message (${code})`, 'this is a jobq bug: report it with this log line');
  }
}
