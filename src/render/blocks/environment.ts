import type { KnownBlock } from '@slack/types';
import { context, cut, LIMITS, type SlackMessage } from './kit.js';

/** The environment a message belongs to; named on it only when jobq serves more than one. */
export interface EnvironmentLabel {
  name: string;
  shown: boolean;
}

const SEPARATOR = '@';

/**
 * A message of one environment, said so: `[prod]` before its fallback text, a context line at its
 * top, and every button's action id tagged `…@prod`, so a click (a Confirm, a Retry) goes back
 * to the database its message came from, whichever channel it is clicked in.
 */
export function labelled(message: SlackMessage, env: EnvironmentLabel | undefined): SlackMessage {
  if (!env?.shown) return message;
  const blocks = message.blocks.map((block) => tagButtons(block, env.name));
  const line = context(`:label: Environment: *${env.name}*`);
  const at = (blocks[0] as { type?: string } | undefined)?.type === 'header' ? 1 : 0;
  if (blocks.length < LIMITS.blocks) blocks.splice(at, 0, line);
  return { ...message, text: cut(`[${env.name}] ${message.text}`, LIMITS.fallbackText), blocks };
}

/** A clicked action id back into the button's own id and the environment it was tagged with. */
export function untagAction(actionId: string): { actionId: string; env: string | null } {
  const i = actionId.lastIndexOf(SEPARATOR);
  if (i < 0) return { actionId, env: null };
  return { actionId: actionId.slice(0, i), env: actionId.slice(i + 1) };
}

function tagButtons(block: KnownBlock, env: string): KnownBlock {
  const tag = <E extends { type: string; action_id?: string }>(element: E): E =>
    element.type === 'button' && element.action_id ? { ...element, action_id: `${element.action_id}${SEPARATOR}${env}`.slice(0, 255) } : element;
  if (block.type === 'actions') return { ...block, elements: block.elements.map((e) => tag(e)) } as KnownBlock;
  if (block.type === 'section' && block.accessory) return { ...block, accessory: tag(block.accessory) } as KnownBlock;
  return block;
}
