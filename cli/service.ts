// `wgp2p service install server|join ROOM|up IFACE [--dry-run] [--unit-dir DIR]`: puts the
// shipped unit into /etc/systemd/system (ExecStart pointed at this wgp2p), then reloads systemd
// and enables and starts it when systemd runs; otherwise says what to run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOptions, type Option } from '../shared/config/options.js';
import { asText, parseBool } from '../shared/config/values.js';
import { ConfigError } from '../shared/errors.js';
import { chooseUnit, currentCommand, renderUnit, UNIT_DIR, UNIT_FILES, type ServiceKind } from './systemd-units.js';

export const SERVICE_USAGE = 'usage: wgp2p service install server|join ROOM|up IFACE [--dry-run] [--unit-dir DIR]';
// sd_booted(): this directory exists exactly when systemd is the running init.
const SYSTEMD_RUNNING_DIR = '/run/systemd/system';
const SYSTEMCTL_TIMEOUT_MS = 60_000;

const SERVICE_OPTIONS = {
  dryRun: { parse: parseBool, boolean: true, default: false, help: 'print the unit and the commands, change nothing' },
  unitDir: { parse: asText, noEnv: true, value: 'DIR', help: `where units go (default ${UNIT_DIR})` },
} satisfies Record<string, Option<unknown>>;

export function runService(argv: string[], out: (text: string) => void = (text) => void process.stdout.write(text)): number {
  const args = loadOptions(SERVICE_OPTIONS, argv, {});
  if (args.help) {
    out(`${SERVICE_USAGE}\n`);
    return 0;
  }
  const [verb, kind, instance, ...extra] = args.positional;
  if (verb !== 'install' || !kind || !Object.hasOwn(UNIT_FILES, kind) || extra.length > 0) throw new ConfigError('usage', SERVICE_USAGE);
  let choice;
  try {
    choice = chooseUnit(kind as ServiceKind, instance);
  } catch (e) {
    throw new ConfigError('usage', `${(e as Error).message}\n${SERVICE_USAGE}`);
  }
  const text = renderUnit(choice.file, currentCommand());
  const dir = args.values.unitDir ?? UNIT_DIR;
  const target = join(dir, choice.file);
  const commands = [['systemctl', 'daemon-reload'], ['systemctl', 'enable', '--now', choice.unit]];
  const shown = commands.map((c) => `  ${c.join(' ')}`).join('\n');
  const configNote = choice.config && !existsSync(choice.config) ? `note: ${choice.unit} reads ${choice.config}, which does not exist yet\n` : '';

  if (args.values.dryRun) {
    out(`# ${target}\n${text}\n# then:\n${shown}\n${configNote}`);
    return 0;
  }
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(target, text, { mode: 0o644 });
  } catch (e) {
    throw new Error(`cannot write ${target}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  out(`wrote ${target}\n${configNote}`);
  const notNow = dir !== UNIT_DIR ? `${dir} is not systemd's unit directory` : !existsSync(SYSTEMD_RUNNING_DIR) ? 'systemd is not running here' : undefined;
  if (notNow) {
    out(`${notNow}; to start it:\n${shown}\n`);
    return 0;
  }
  for (const c of commands) {
    const r = spawnSync(c[0]!, c.slice(1), { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8', timeout: SYSTEMCTL_TIMEOUT_MS });
    if (r.status !== 0) throw new Error(`${c.join(' ')} failed: ${(r.stderr ?? '').trim().split('\n')[0] || r.error?.message || `exit ${r.status}`}`);
  }
  out(`enabled and started ${choice.unit} (journalctl -u ${choice.unit} shows its log)\n`);
  return 0;
}
