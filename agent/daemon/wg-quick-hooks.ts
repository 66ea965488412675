// wg-quick's PreUp/PostUp/PreDown/PostDown: each command, with %i replaced by the interface
// name, runs through `bash -c` in file order, one after another, as wg-quick runs them.
import { spawn } from 'node:child_process';
import type { QuickHooks } from '../config/wg-quick.js';
import type { Logger } from '../../shared/log.js';

export type HookName = 'PreUp' | 'PostUp' | 'PreDown' | 'PostDown';

const HOOK_FIELD: Record<HookName, keyof QuickHooks> = { PreUp: 'preUp', PostUp: 'postUp', PreDown: 'preDown', PostDown: 'postDown' };
// A hook that hangs must not hold the tunnel (or its shutdown) forever.
const HOOK_TIMEOUT_MS = 60_000;

export class HookError extends Error {
  override name = 'HookError';
}

/** The command as it will run: every %i replaced by the interface name (wg-quick does no other expansion). */
export function expandHook(command: string, ifname: string): string {
  return command.replaceAll('%i', ifname);
}

/**
 * Runs the `name` hooks in order and stops at the first that fails, with a HookError naming it.
 * The commands' output goes to ours, as with wg-quick.
 */
export async function runHooks(hooks: QuickHooks | undefined, name: HookName, ifname: string, log: Logger): Promise<void> {
  for (const raw of hooks?.[HOOK_FIELD[name]] ?? []) {
    const command = expandHook(raw, ifname);
    log.info(`running ${name}`, { command });
    const result = await runBash(command);
    if (result !== 0) throw new HookError(`${name} command failed (${result}): ${command}`);
  }
}

/** Runs the `name` hooks for a shutdown: a failure is logged and the rest still run. */
export async function runHooksBestEffort(hooks: QuickHooks | undefined, name: HookName, ifname: string, log: Logger): Promise<void> {
  for (const raw of hooks?.[HOOK_FIELD[name]] ?? []) {
    try {
      await runHooks({ preUp: [], postUp: [], preDown: [], postDown: [], [HOOK_FIELD[name]]: [raw] }, name, ifname, log);
    } catch (e) {
      log.warn((e as Error).message);
    }
  }
}

/** Exit status as text: 0 when it succeeded, else "exit 3", "signal SIGTERM", "timed out" or the spawn error. */
function runBash(command: string): Promise<0 | string> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { stdio: ['ignore', 'inherit', 'inherit'], timeout: HOOK_TIMEOUT_MS });
    child.once('error', (e) => resolve(`cannot run bash: ${e.message}`));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(0);
      else if (signal === 'SIGTERM' && child.killed) resolve(`timed out after ${HOOK_TIMEOUT_MS / 1000} s`);
      else resolve(signal ? `signal ${signal}` : `exit ${code}`);
    });
  });
}
