import type { KnownBlock } from '@slack/types';
import type { EnvironmentStatus } from '../../queue/environment-status.js';
import { escapeMrkdwn, header, message, section, type SlackMessage } from './kit.js';
import { type RenderOptions, runbookContext } from './reads.js';

/** `/jobq envs`: each environment, its health, where it answers and where it alerts. */
export function environmentsBlocks(list: readonly EnvironmentStatus[], options: RenderOptions): SlackMessage {
  const ready = list.filter((e) => e.ok).length;
  const body: KnownBlock[] = [header(`Environments: ${ready} of ${list.length} ready`)];
  for (const e of list) {
    const bound = e.channels.length ? e.channels.map((c) => `<#${c}>`).join(', ') : '_none: use `--env ' + e.name + '`_';
    body.push(
      section(
        [
          `${e.ok ? ':large_green_circle:' : ':red_circle:'} *${escapeMrkdwn(e.name)}*: ${escapeMrkdwn(e.detail)}`,
          `Database: \`${escapeMrkdwn(e.database)}\` · Channels: ${bound} · Alerts: ${e.alertChannel ? `<#${e.alertChannel}>` : 'none'}`,
        ].join('\n'),
      ),
    );
  }
  const text = list.map((e) => `${e.name}: ${e.ok ? 'ready' : 'NOT READY'} (${e.detail})`).join('; ');
  return message(`Environments: ${text}`, body, [runbookContext(options, 'several-databases', 'Several databases')]);
}
