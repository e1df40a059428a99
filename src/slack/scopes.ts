/**
 * The bot scopes manifest.yml asks for, with what each is for (test/slack/scopes.test.ts checks
 * this list against the manifest). The preflight compares them with the scopes Slack says the
 * token has; the emulator grants exactly these unless a test says otherwise.
 */
export const BOT_SCOPES = [
  { scope: 'commands', usedFor: 'the /jobq slash command' },
  { scope: 'chat:write', usedFor: 'alerts, change announcements and summaries' },
  { scope: 'usergroups:read', usedFor: 'JOBQ_WRITE_GROUPS membership checks' },
  { scope: 'channels:history', usedFor: 'recognising its own alerts after a restart (public channels)' },
  { scope: 'groups:history', usedFor: 'recognising its own alerts after a restart (private channels)' },
  { scope: 'channels:read', usedFor: 'checking at start that it is in the alert, audit and summary channels (public)' },
  { scope: 'groups:read', usedFor: 'checking at start that it is in the alert, audit and summary channels (private)' },
] as const;

export type BotScope = (typeof BOT_SCOPES)[number]['scope'];

export const BOT_SCOPE_NAMES: readonly string[] = BOT_SCOPES.map((s) => s.scope);
