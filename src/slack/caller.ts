import type { WebClient } from '@slack/web-api';
import type { Caller } from '../commands/execute.js';
import { slackActor } from '../queue/actor.js';
import type { SlackDeps } from './deps.js';

/** A Slack user as the dispatch sees them: their rights come from JOBQ_WRITE_USERS / JOBQ_WRITE_GROUPS. */
export function slackCaller(deps: SlackDeps, client: WebClient, userId: string, userName?: string): Caller {
  return {
    actor: slackActor(userId, userName),
    assertMayWrite: () => deps.permissions.assertCanWrite(client, userId),
    writesEnabled: deps.config.JOB_QUEUE_ENABLED,
    migrated: deps.migrated,
  };
}
