import type { DeliveryReply, Snapshot } from './wire.js';

/** The emulator's /ui routes, as the page calls them. */

export async function fetchSnapshot(): Promise<Snapshot> {
  const response = await fetch('/ui/state', { cache: 'no-store' });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return (await response.json()) as Snapshot;
}

/** POSTs JSON; a refusal (4xx/5xx) becomes an Error carrying the emulator's explanation. */
async function post(path: string, body: object): Promise<DeliveryReply> {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  let json: Partial<DeliveryReply>;
  try {
    json = (await response.json()) as Partial<DeliveryReply>;
  } catch {
    json = { error: `HTTP ${response.status}` };
  }
  if (!response.ok) throw new Error(json.error ?? `HTTP ${response.status}`);
  return json as DeliveryReply;
}

export function sendCommand(body: { userId: string; channelId: string; text: string }): Promise<DeliveryReply> {
  return post('/ui/command', body);
}

export type ClickRequest =
  | { userId: string; channelId: string; messageTs: string; actionId: string; value?: string }
  | { userId: string; surface: 'home'; actionId: string; value?: string };

export function sendClick(body: ClickRequest): Promise<DeliveryReply> {
  return post('/ui/click', body);
}

/** Tells the emulator the reader opened a tab of the app, so it sends the bot app_home_opened. */
export function openAppTab(userId: string, tab: 'home' | 'messages'): Promise<DeliveryReply> {
  return post('/ui/home', { userId, tab });
}
