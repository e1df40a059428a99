import { createHmac } from 'node:crypto';

/** Headers Slack puts on every request it sends to an app's request URL. */
export interface SlackRequestHeaders {
  'x-slack-signature': string;
  'x-slack-request-timestamp': string;
  'content-type': string;
}

/**
 * Signs a request body exactly as Slack does: v0=hex(HMAC-SHA256(secret, "v0:<ts>:<raw body>")).
 * The raw body is signed byte for byte, so callers must send the very string they signed.
 */
export function signSlackRequest(signingSecret: string, rawBody: string, timestampSeconds: number = Math.floor(Date.now() / 1000)): SlackRequestHeaders {
  const digest = createHmac('sha256', signingSecret).update(`v0:${timestampSeconds}:${rawBody}`).digest('hex');
  return {
    'x-slack-signature': `v0=${digest}`,
    'x-slack-request-timestamp': String(timestampSeconds),
    'content-type': 'application/x-www-form-urlencoded',
  };
}

/** The form fields of a slash command request (Slack sends them all, as strings). */
export interface SlashCommandFields {
  token: string;
  team_id: string;
  team_domain: string;
  channel_id: string;
  channel_name: string;
  user_id: string;
  user_name: string;
  command: string;
  text: string;
  api_app_id: string;
  response_url: string;
  trigger_id: string;
}

/** application/x-www-form-urlencoded body of a slash command, fields in Slack's order. */
export function slashCommandBody(fields: SlashCommandFields): string {
  return new URLSearchParams(Object.entries(fields)).toString();
}

/** A button click as Slack reports it in a block_actions payload. */
export interface ButtonAction {
  action_id: string;
  block_id: string;
  value?: string;
  text?: { type: 'plain_text'; text: string; emoji?: boolean };
  type: 'button';
  action_ts: string;
}

/** The block_actions payload Slack posts when someone clicks a button in a message. */
export interface BlockActionsPayload {
  type: 'block_actions';
  user: { id: string; username: string; name: string; team_id: string };
  api_app_id: string;
  token: string;
  container: { type: 'message'; message_ts: string; channel_id: string; is_ephemeral: boolean };
  trigger_id: string;
  team: { id: string; domain: string };
  enterprise: null;
  is_enterprise_install: boolean;
  channel: { id: string; name: string };
  /** Slack leaves the message out when the clicked message is ephemeral. */
  message?: Record<string, unknown>;
  state: { values: Record<string, unknown> };
  response_url: string;
  actions: ButtonAction[];
}

/**
 * A click on a button in a view (the Home tab): the container is the view, the payload carries the
 * view instead of a message, and there is no channel and no response_url to answer through.
 */
export interface ViewBlockActionsPayload {
  type: 'block_actions';
  user: { id: string; username: string; name: string; team_id: string };
  api_app_id: string;
  token: string;
  container: { type: 'view'; view_id: string };
  trigger_id: string;
  team: { id: string; domain: string };
  enterprise: null;
  is_enterprise_install: boolean;
  view: Record<string, unknown>;
  actions: ButtonAction[];
}

/** Interactivity requests are a form with a single `payload` field holding JSON. */
export function interactivityBody(payload: BlockActionsPayload | ViewBlockActionsPayload | Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
