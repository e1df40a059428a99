import { signSlackRequest } from '../../src/emulator/signing.js';
import type { SlackEmulator } from '../../src/emulator/web-api.js';
import { SIGNING_SECRET } from './bot.js';

/**
 * Requests built by hand and signed with the bot's real secret: what a hostile (or broken) sender
 * holding the secret could send, beyond what the emulator's own builders produce.
 */

export interface RawRequest {
  body: string;
  headers: Record<string, string>;
  /** The response URL the bot should answer on, when the request carries one. */
  responseUrl?: string;
}

export function signed(body: string, contentType = 'application/x-www-form-urlencoded', timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  return { ...signSlackRequest(SIGNING_SECRET, body, timestamp), 'content-type': contentType };
}

/** A slash command with any text, answering on a fresh response URL of the emulator. */
export function rawCommand(slack: SlackEmulator, text: string, user = 'U_OPERATOR', channel = 'C_OPS'): RawRequest {
  const responseUrl = slack.responseUrl(channel, user);
  const body = new URLSearchParams({
    token: 't',
    team_id: 'T_JOBQ',
    team_domain: 'jobq',
    channel_id: channel,
    channel_name: 'ops',
    user_id: user,
    user_name: 'someone',
    command: '/jobq',
    text,
    api_app_id: 'A_JOBQ',
    response_url: responseUrl,
    trigger_id: `${Date.now()}.${Math.random()}`,
  }).toString();
  return { body, headers: signed(body), responseUrl };
}

/** A button click with any action id and value, answering on a fresh response URL. */
export function rawClick(slack: SlackEmulator, actionId: string, value: string | undefined, user = 'U_OPERATOR', channel = 'C_OPS'): RawRequest {
  const responseUrl = slack.responseUrl(channel, user);
  const payload = {
    type: 'block_actions',
    user: { id: user, username: 'someone', name: 'someone', team_id: 'T_JOBQ' },
    api_app_id: 'A_JOBQ',
    token: 't',
    container: { type: 'message', message_ts: '1.000001', channel_id: channel, is_ephemeral: true },
    trigger_id: `${Date.now()}.${Math.random()}`,
    team: { id: 'T_JOBQ', domain: 'jobq' },
    channel: { id: channel, name: 'ops' },
    response_url: responseUrl,
    actions: [{ action_id: actionId, block_id: 'b', type: 'button', action_ts: '1.1', ...(value === undefined ? {} : { value }) }],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return { body, headers: signed(body), responseUrl };
}

/** Everything the bot posted to one response URL, in order (placeholders included). */
export function answersOn(slack: SlackEmulator, responseUrl: string): { text: string; placeholder: boolean }[] {
  const id = new URL(responseUrl).pathname.split('/').filter(Boolean).at(-1);
  return slack
    .responses()
    .filter((r) => r.urlId === id)
    .map((r) => {
      const text = `${String(r.body.text ?? '')}\n${JSON.stringify(r.body.blocks ?? [])}`;
      return { text, placeholder: /^Working on /.test(String(r.body.text ?? '')) };
    });
}

/** The final (non-placeholder) answer on a response URL, once it arrives. */
export async function finalAnswer(slack: SlackEmulator, responseUrl: string, timeoutMs = 5_000): Promise<string> {
  const answer = await slack.waitFor(() => answersOn(slack, responseUrl).find((a) => !a.placeholder), timeoutMs, `a final answer on ${responseUrl}`);
  return answer.text;
}
