import type { WebClient } from '@slack/web-api';
import type { Config } from '../config.js';
import { JobqError } from '../errors.js';

export interface Permissions {
  /** Throws a `forbidden` JobqError that says who may read, or returns. */
  assertCanRead(userId: string, channelId: string): void;
  /** Throws a `forbidden` JobqError that says who may change the queue, or returns. */
  assertCanWrite(client: WebClient, userId: string): Promise<void>;
}

const GROUP_CACHE_MS = 60_000;

/**
 * Access from config, by Slack user and group IDs (never display names, which can be copied):
 * reads for everyone or only in JOBQ_READ_CHANNELS; changes only for JOBQ_WRITE_USERS and members
 * of JOBQ_WRITE_GROUPS. With neither list set nobody may change the queue from Slack.
 */
export function createPermissions(config: Pick<Config, 'JOBQ_READ_CHANNELS' | 'JOBQ_WRITE_USERS' | 'JOBQ_WRITE_GROUPS'>): Permissions {
  const groupMembers = new Map<string, { at: number; members: Set<string> }>();

  async function membersOf(client: WebClient, group: string): Promise<Set<string>> {
    const cached = groupMembers.get(group);
    if (cached && Date.now() - cached.at < GROUP_CACHE_MS) return cached.members;
    const result = await client.usergroups.users.list({ usergroup: group });
    const members = new Set(result.users ?? []);
    groupMembers.set(group, { at: Date.now(), members });
    return members;
  }

  const whoMayWrite = () => {
    const parts = [
      config.JOBQ_WRITE_USERS.length ? config.JOBQ_WRITE_USERS.map((u) => `<@${u}>`).join(', ') : '',
      config.JOBQ_WRITE_GROUPS.length ? `members of user group ${config.JOBQ_WRITE_GROUPS.map((g) => `\`${g}\``).join(', ')}` : '',
    ].filter(Boolean);
    return parts.length ? parts.join(' and ') : 'nobody yet: an admin sets JOBQ_WRITE_USERS or JOBQ_WRITE_GROUPS';
  };

  return {
    assertCanRead(_userId, channelId) {
      if (config.JOBQ_READ_CHANNELS.length && !config.JOBQ_READ_CHANNELS.includes(channelId)) {
        throw new JobqError('forbidden', `jobq answers in ${config.JOBQ_READ_CHANNELS.map((c) => `<#${c}>`).join(', ')} only.`, { runbookSection: 'permissions' });
      }
    },
    async assertCanWrite(client, userId) {
      if (config.JOBQ_WRITE_USERS.includes(userId)) return;
      for (const group of config.JOBQ_WRITE_GROUPS) {
        try {
          if ((await membersOf(client, group)).has(userId)) return;
        } catch (error) {
          throw new JobqError('forbidden', `Could not check membership of user group ${group}, so the change was not made.`, { runbookSection: 'permissions', cause: error });
        }
      }
      throw new JobqError('forbidden', `You may not change the queue. Changes may be made by ${whoMayWrite()}.`, { runbookSection: 'permissions' });
    },
  };
}
