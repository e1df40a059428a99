import { COMMAND_NAMES, type CommandName, DEFINITIONS } from '../../commands/definitions.js';

/** Help for one command, or the list of all, with the given prefix ("jobq" or "/jobq"). */
export function helpText(topic: CommandName | null, prefix: string): string {
  if (topic) {
    const d = DEFINITIONS[topic];
    return [`${prefix} ${d.usage}`, '', d.summary, d.access === 'write' ? '\nChanges the queue: previewed, confirmed and audited.' : ''].join('\n').trimEnd();
  }
  const width = Math.max(...COMMAND_NAMES.map((n) => DEFINITIONS[n].usage.split(' ')[0]!.length));
  return [
    `Usage: ${prefix} COMMAND [options]`,
    '',
    ...COMMAND_NAMES.map((n) => `  ${n.padEnd(width)}  ${DEFINITIONS[n].summary}`),
    ...(prefix === 'jobq' ? [`  ${'serve'.padEnd(width)}  Run the Slack bot (the local sandbox when no SLACK_BOT_TOKEN is set)`] : []),
    '',
    `${prefix} help COMMAND (or ${prefix} COMMAND --help) shows a command's options.`,
  ].join('\n');
}
