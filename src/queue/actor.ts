import { userInfo } from 'node:os';
import { JobqError } from '../errors.js';

/** Who asked for a change: a Slack user or a person at a terminal. Every write records one. */
export interface Actor {
  kind: 'slack' | 'cli';
  /** Slack user id (U123...) or the operating-system user name. */
  id: string;
  name?: string | undefined;
}

/** The person running the CLI, as the operating system knows them. */
export function cliActor(): Actor {
  let name = process.env.USER ?? process.env.USERNAME ?? '';
  try {
    name = userInfo().username || name;
  } catch {
    // No passwd entry (some containers): fall back to the environment.
  }
  return { kind: 'cli', id: name || 'unknown' };
}

export function slackActor(userId: string, name?: string): Actor {
  return { kind: 'slack', id: userId, name };
}

/** Refuses an actor jobq could not record faithfully; writes never run anonymously. */
export function assertActor(actor: Actor): Actor {
  if ((actor.kind !== 'slack' && actor.kind !== 'cli') || typeof actor.id !== 'string' || actor.id.trim() === '') {
    throw new JobqError('usage', 'Every change must name who asked for it (a Slack user or a CLI user); none was given.');
  }
  return actor;
}

export function describeActor(actor: Actor): string {
  return actor.name ? `${actor.name} (${actor.kind} ${actor.id})` : `${actor.kind} ${actor.id}`;
}
