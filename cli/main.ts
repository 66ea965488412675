#!/usr/bin/env node
// The `wgp2p` command: dispatches subcommands and turns every failure into one clear line.
// Subcommands are imported when run: the server needs none of the agent's modules, and each
// start of a short command (or of a test's child process) stays quick.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../shared/errors.js';
import { packageVersion } from './version.js';

const USAGE = `usage: wgp2p <command> [options]

commands:
  up <file> [--interface NAME]   run a WireGuard tunnel from a wg-quick style file
  down IFACE                     stop the up (or join) running IFACE and wait until it is gone
  join --room NAME --server URL  join a room: direct WireGuard links to its members (wgp2p join --help)
  room init --room NAME --server URL  make a room with admins: its secret and our admin key (state dir)
  invite --room NAME [--uses N] [--expires 24h]  print a one-line invite (admins; wgp2p join --invite)
  invite --revoke INVITE         revoke an unused invite (its line or id) for good (admin's running agent)
  remove NAME|KEY [--interface IF]  remove a member for good (asks the admin's running agent)
  members [--interface IF] [--json]  list the room's members, who admitted them, what is revoked
  ping PEER [--count N]          probe a room member's path: direct or relayed, and the RTT
  secret                         print a new strong room secret
  netcheck --server URL          mapped address, NAT mapping/filtering, hairpinning, IPv6, latency
  status [--interface IF] [--json]  show the running tunnel: peers, endpoints, handshakes, counters
  genkey                         print a new private key (like wg genkey)
  pubkey                         read a private key on stdin, print its public key
  genpsk                         print a new preshared key
  server [options]               run the signalling + STUN server (wgp2p server --help)
  service install server|join ROOM|up IFACE [--dry-run]  install and start a systemd unit
  version, --version, -V         print the version
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'genkey':
      process.stdout.write((await import('./keys.js')).genkey());
      return 0;
    case 'genpsk':
      process.stdout.write((await import('./keys.js')).genpsk());
      return 0;
    case 'pubkey':
      process.stdout.write((await import('./keys.js')).pubkey(readFileSync(0, 'utf8')));
      return 0;
    case 'up':
      return (await import('./up.js')).runUp(rest, process.env);
    case 'down':
      return (await import('./down.js')).runDown(rest);
    case 'service':
      return (await import('./service.js')).runService(rest);
    case 'status':
      return (await import('./status.js')).runStatus(rest);
    case 'join':
      return (await import('./join.js')).runJoin(rest, process.env);
    case 'room':
      return (await import('./room.js')).runRoom(rest, process.env);
    case 'invite':
      return (await import('./room.js')).runInvite(rest, process.env);
    case 'remove':
      return (await import('./members.js')).runRemove(rest);
    case 'members':
      return (await import('./members.js')).runMembers(rest);
    case 'ping':
      return (await import('./ping.js')).runPing(rest);
    case 'netcheck':
      return (await import('./netcheck.js')).runNetcheck(rest);
    case 'secret':
      if (rest.length > 0) throw new ConfigError('usage', 'usage: wgp2p secret');
      process.stdout.write((await import('../agent/join/room/secret.js')).generateSecret() + '\n');
      return 0;
    case 'server':
      return (await import('./server.js')).runServerCli(rest, process.env);
    case 'version':
    case '--version':
    case '-V':
      if (rest.length > 0) throw new ConfigError('usage', `usage: wgp2p ${cmd}`);
      process.stdout.write(`wgp2p ${packageVersion()}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return cmd === undefined ? 1 : 0;
    default:
      throw new ConfigError('usage', `unknown command "${cmd}"\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as Error;
    process.stderr.write(`wgp2p: ${e instanceof ConfigError ? '' : 'error: '}${e.message}\n`);
    process.exitCode = e instanceof ConfigError ? 2 : 1;
  },
);
