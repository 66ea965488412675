// Help lines for declared options, so a command's help cannot drift from what it parses.
import { envName, flagName, type Options } from './options.js';

export interface HelpLayout {
  /** Width of the "--flag VALUE" column. */
  flagWidth: number;
  /** Also a column with each option's variable, this wide. */
  envWidth?: number;
}

export function optionHelp(options: Options, layout: HelpLayout): string[] {
  const lines: string[] = [];
  for (const [name, option] of Object.entries(options)) {
    let head = `  ${`${flagName(name)}${option.value ? ` ${option.value}` : ''}`.padEnd(layout.flagWidth)} `;
    if (layout.envWidth !== undefined) head += `${(option.noEnv ? '' : envName(name)).padEnd(layout.envWidth)} `;
    const [first, ...rest] = option.help.split('\n');
    lines.push(head + first);
    for (const more of rest) lines.push(' '.repeat(head.length) + more);
  }
  return lines;
}
