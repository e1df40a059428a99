import type { Config } from '../config.js';
import type { ParsedCommand } from '../commands/parse.js';
import { JobqError } from '../errors.js';
import type { QueueContext } from '../queue/context.js';
import type { CliIo } from '../cli.js';

/** Terminal flows for changes (preview, confirm, progress). Filled in with the safe-writes core. */
export async function runWriteCommand(_ctx: QueueContext, command: ParsedCommand, _options: { io: CliIo; json: boolean; config: Config }): Promise<number> {
  throw new JobqError('unsupported', `"${command.name}" is not available yet.`);
}
