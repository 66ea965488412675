// `wgp2p remove NAME|KEY` and `wgp2p members`: ask the running agent (its control socket). Only an
// admin's agent removes: it signs a new revocation list and sends it to every member.
import { controlRequest, pickInterface } from '../agent/daemon/control-client.js';
import { commandArgs } from './command-args.js';
import { CONTROL_OPTIONS } from './control-options.js';

const REMOVE_USAGE = 'usage: wgp2p remove NAME|PUBLIC-KEY [--interface IF] [--json]';
const MEMBERS_USAGE = 'usage: wgp2p members [--interface IF] [--json]';

export interface Removed {
  publicKey: string;
  name?: string;
  version: number;
}

/**
 * Asks the admin's agent on `ifname` to put `ref` (a member's name or key, or an invite's id) on
 * the revocation list; says why on stderr, as `command`, when it cannot (then undefined).
 */
export async function removeThroughAgent(ifname: string | undefined, ref: string, command: string): Promise<Removed | undefined> {
  try {
    return (await controlRequest(pickInterface(ifname), { op: 'remove', member: ref })) as Removed;
  } catch (e) {
    process.stderr.write(`${command}: ${(e as Error).message}\n`);
    return undefined;
  }
}

export async function runRemove(argv: string[]): Promise<number> {
  const args = commandArgs(CONTROL_OPTIONS, argv, REMOVE_USAGE, { positional: { min: 1, max: 1 } });
  if (!args) return 0;
  const r = await removeThroughAgent(args.values.interface, args.positional[0]!, 'wgp2p remove');
  if (!r) return 1;
  process.stdout.write(args.values.json ? JSON.stringify(r) + '\n' : `removed ${r.name ?? ''} ${r.publicKey} (revocation list version ${r.version}, sent to every member)\n`);
  return 0;
}

interface MembersList {
  anchor: string;
  admin: boolean;
  admitted: boolean;
  members: { name: string; publicKey: string; address: string; admittedBy?: string; invite?: string }[];
  revocations: { version: number; keys: { publicKey: string; name?: string }[] };
  invites?: { id: string; used: number }[];
}

export async function runMembers(argv: string[]): Promise<number> {
  const args = commandArgs(CONTROL_OPTIONS, argv, MEMBERS_USAGE);
  if (!args) return 0;
  let r: MembersList;
  try {
    r = (await controlRequest(pickInterface(args.values.interface), { op: 'members' })) as MembersList;
  } catch (e) {
    process.stderr.write(`wgp2p members: ${(e as Error).message}\n`);
    return 1;
  }
  if (args.values.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return 0;
  }
  const short = (k: string | undefined) => (k ? k.slice(0, 10) : '-');
  const lines = [`room anchor ${r.anchor}${r.admin ? '  (we are an admin)' : ''}${r.admitted ? '' : '  (not admitted yet)'}`];
  for (const m of r.members) lines.push(`  ${m.name}  ${m.address}  ${m.publicKey}  admitted by ${m.admittedBy === r.anchor ? 'the anchor' : short(m.admittedBy)}${m.invite ? ` (invite ${short(m.invite)})` : ''}`);
  lines.push(`revoked (list version ${r.revocations.version}): ${r.revocations.keys.map((k) => `${k.name ?? ''} ${k.publicKey}`.trim()).join(', ') || 'none'}`);
  for (const i of r.invites ?? []) lines.push(`  invite ${short(i.id)} used ${i.used}x`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
