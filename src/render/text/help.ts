import { COMMAND_NAMES, type CommandName, DEFINITIONS } from '../../commands/definitions.js';

/** What every command takes besides its own options, by front. */
const GLOBAL_FLAGS: Record<'jobq' | '/jobq', [string, string][]> = {
  jobq: [
    ['--json', 'Print the stable JSON documented in the README instead of text.'],
    ['--no-color', 'No colour (also NO_COLOR=1; FORCE_COLOR=1 forces it when piped).'],
    ['--help', 'This help.'],
  ],
  '/jobq': [['--help', 'This help.']],
};

/** `--queue Q`: the option as usage writes it, from the usage line when it names a value. */
function flagLabel(usage: string, name: string, type: string): string {
  if (type === 'boolean') return `--${name}`;
  const value = new RegExp(`--${name} ([^\\]\\s]+)`).exec(usage)?.[1];
  return `--${name} ${value ?? 'VALUE'}`;
}

/** Help for one command, or the list of all, with the given prefix ("jobq" or "/jobq"). */
export function helpText(topic: CommandName | null, prefix: 'jobq' | '/jobq' | string): string {
  if (topic) {
    const d = DEFINITIONS[topic];
    const own = Object.entries(d.options).map(([name, option]) => [flagLabel(d.usage, name, option.type), d.flags[name] ?? ''] as [string, string]);
    const all = [...own, ...(GLOBAL_FLAGS[prefix as 'jobq'] ?? GLOBAL_FLAGS['/jobq'])];
    const width = Math.max(...all.map(([label]) => label.length));
    return [
      `${prefix} ${d.usage}`,
      '',
      d.summary,
      ...(d.access === 'write' ? ['Changes the queue: previewed where it touches many jobs, confirmed and audited.'] : []),
      '',
      'Options:',
      ...all.map(([label, text]) => `  ${label.padEnd(width)}  ${text}`),
      '',
      'Examples:',
      ...d.examples.map((e) => `  ${prefix} ${e}`),
    ].join('\n');
  }
  const width = Math.max(...COMMAND_NAMES.map((n) => DEFINITIONS[n].usage.split(' ')[0]!.length));
  return [
    `Usage: ${prefix} COMMAND [options]`,
    '',
    ...COMMAND_NAMES.map((n) => `  ${n.padEnd(width)}  ${DEFINITIONS[n].summary}`),
    ...(prefix === 'jobq' ? [`  ${'serve'.padEnd(width)}  Run the Slack bot (the local sandbox when no SLACK_BOT_TOKEN is set)`] : []),
    '',
    `${prefix} help COMMAND (or ${prefix} COMMAND --help) shows a command's options and examples.`,
  ].join('\n');
}
