// `wgp2p down IFACE`: stops the `wgp2p up` (or `join`) running that interface and waits until it
// is gone, down hooks included. `up` takes a `stop` request on its control socket and names its
// pid; a daemon without that op is stopped the wireguard-go way, by removing its UAPI socket.
import { existsSync, unlinkSync } from 'node:fs';
import { controlRequest } from '../agent/daemon/control-client.js';
import { controlSocketPath } from '../agent/daemon/control-socket.js';
import { SOCKET_DIR as UAPI_DIR } from '../agent/uapi/server.js';
import { isLive } from '../agent/daemon/unix-listener.js';
import type { Option } from '../shared/config/options.js';
import { commandArgs } from './command-args.js';
import { ConfigError } from '../shared/errors.js';
import { isInterfaceName, parseInterfaceName } from './interface-name.js';

const USAGE = 'usage: wgp2p down IFACE';
const DOWN_OPTIONS = {
  interface: { parse: parseInterfaceName, noEnv: true, value: 'IFACE', help: 'the interface (or give it as the argument)' },
} satisfies Record<string, Option<unknown>>;
// Long enough for slow PreDown/PostDown hooks; a daemon that takes longer is reported.
const DOWN_TIMEOUT_MS = 90_000;
const POLL_MS = 100;

export async function runDown(argv: string[]): Promise<number> {
  const args = commandArgs(DOWN_OPTIONS, argv, USAGE, { positional: { max: 1 } });
  if (!args) return 0;
  const ifname = args.positional[0] ?? args.values.interface;
  if (!ifname) throw new ConfigError('usage', USAGE);
  if (!isInterfaceName(ifname)) throw new ConfigError('bad_value', `interface name "${ifname}" is invalid`);

  let answer: unknown;
  try {
    answer = await controlRequest(ifname, { op: 'stop' });
  } catch (e) {
    if (!/unknown op "stop"/.test((e as Error).message)) throw e;
    return stopByUapiSocket(ifname);
  }
  const pid = (answer as { pid?: unknown } | undefined)?.pid;
  if (typeof pid !== 'number') throw new Error(`the daemon of ${ifname} gave no pid to wait for`);
  await waitUntil(() => !processAlive(pid), `the daemon of ${ifname} (pid ${pid}) did not stop within ${DOWN_TIMEOUT_MS / 1000} s`);
  return 0;
}

async function stopByUapiSocket(ifname: string): Promise<number> {
  const uapi = `${UAPI_DIR}/${ifname}.sock`;
  if (!existsSync(uapi)) throw new Error(`the daemon of ${ifname} takes no stop request and has no ${uapi} to remove`);
  unlinkSync(uapi);
  const control = controlSocketPath(ifname);
  await waitUntil(async () => !(await isLive(control)), `the daemon of ${ifname} did not stop within ${DOWN_TIMEOUT_MS / 1000} s`);
  return 0;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitUntil(done: () => boolean | Promise<boolean>, timeoutMessage: string): Promise<void> {
  const deadline = Date.now() + DOWN_TIMEOUT_MS;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(timeoutMessage);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
