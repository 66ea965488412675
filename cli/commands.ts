// The `wgp2p` subcommands in one table, which drives both the dispatch (main.ts) and the help text,
// so the help cannot list a command that does not run nor miss one that does. Each module is
// imported when its command runs: the server needs none of the agent's modules, and each start of
// a short command (or of a test's child process) stays quick.
import { readFileSync } from 'node:fs';
import { packageVersion } from './version.js';

export interface Command {
  /** What the user types; the help shows every spelling. */
  names: readonly [string, ...string[]];
  /** Its lines in the help: the arguments, then what it does. */
  help: readonly (readonly [args: string, does: string])[];
  /** Any argument is a usage error (other commands check their own). */
  noArgs?: boolean;
  run(argv: string[], env: NodeJS.ProcessEnv): number | Promise<number>;
}

/** For the commands that only print: writes `text`, exit code 0. */
function print(text: string): number {
  process.stdout.write(text);
  return 0;
}

export const COMMANDS: readonly Command[] = [
  { names: ['up'], help: [['<file> [--interface NAME]', 'run a WireGuard tunnel from a wg-quick style file']], run: async (argv, env) => (await import('./up.js')).runUp(argv, env) },
  { names: ['down'], help: [['IFACE', 'stop the up (or join) running IFACE and wait until it is gone']], run: async (argv) => (await import('./down.js')).runDown(argv) },
  { names: ['join'], help: [['--room NAME --server URL', 'join a room: direct WireGuard links to its members (wgp2p join --help)']], run: async (argv, env) => (await import('./join.js')).runJoin(argv, env) },
  { names: ['room'], help: [['init --room NAME --server URL', 'make a room with admins: its secret and our admin key (state dir)']], run: async (argv, env) => (await import('./room.js')).runRoom(argv, env) },
  {
    names: ['invite'],
    help: [
      ['--room NAME [--uses N] [--expires 24h]', 'print a one-line invite (admins; wgp2p join --invite)'],
      ['--revoke INVITE', "revoke an unused invite (its line or id) for good (admin's running agent)"],
    ],
    run: async (argv, env) => (await import('./room.js')).runInvite(argv, env),
  },
  { names: ['remove'], help: [['NAME|KEY [--interface IF]', "remove a member for good (asks the admin's running agent)"]], run: async (argv) => (await import('./members.js')).runRemove(argv) },
  { names: ['members'], help: [['[--interface IF] [--json]', "list the room's members, who admitted them, what is revoked"]], run: async (argv) => (await import('./members.js')).runMembers(argv) },
  { names: ['ping'], help: [['PEER [--count N]', "probe a room member's path: direct or relayed, and the RTT"]], run: async (argv) => (await import('./ping.js')).runPing(argv) },
  { names: ['secret'], help: [['', 'print a new strong room secret']], noArgs: true, run: async () => print((await import('../agent/join/room/secret.js')).generateSecret() + '\n') },
  { names: ['netcheck'], help: [['--server URL', 'mapped address, NAT mapping/filtering, hairpinning, IPv6, latency']], run: async (argv) => (await import('./netcheck.js')).runNetcheck(argv) },
  { names: ['status'], help: [['[--interface IF] [--json]', 'show the running tunnel: peers, endpoints, handshakes, counters']], run: async (argv) => (await import('./status.js')).runStatus(argv) },
  { names: ['genkey'], help: [['', 'print a new private key (like wg genkey)']], run: async () => print((await import('./keys.js')).genkey()) },
  { names: ['pubkey'], help: [['', 'read a private key on stdin, print its public key']], run: async () => print((await import('./keys.js')).pubkey(readFileSync(0, 'utf8'))) },
  { names: ['genpsk'], help: [['', 'print a new preshared key']], run: async () => print((await import('./keys.js')).genpsk()) },
  { names: ['server'], help: [['[options]', 'run the signalling + STUN server (wgp2p server --help)']], run: async (argv, env) => (await import('./server.js')).runServerCli(argv, env) },
  { names: ['service'], help: [['install server|join ROOM|up IFACE [--dry-run]', 'install and start a systemd unit']], run: async (argv) => (await import('./service.js')).runService(argv) },
  { names: ['version', '--version', '-V'], help: [['', 'print the version']], noArgs: true, run: () => print(`wgp2p ${packageVersion()}\n`) },
];

/** The command `name` (any of its spellings), if there is one. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.names.includes(name));
}

// Descriptions start in one column; a longer synopsis pushes its own line's description right.
const SYNOPSIS_WIDTH = 29;

function helpLines(c: Command): string[] {
  const spellings = c.names.join(', ');
  return c.help.map(([args, does]) => `  ${(args ? `${spellings} ${args}` : spellings).padEnd(SYNOPSIS_WIDTH)}  ${does}\n`);
}

export const USAGE = `usage: wgp2p <command> [options]\n\ncommands:\n${COMMANDS.flatMap(helpLines).join('')}`;
