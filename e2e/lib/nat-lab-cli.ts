// The by-hand face of nat-lab.ts, run by netns-scripts/nat-lab.sh:
//   up [PREFIX] [NAME=KIND ...]   (re)build the lab: public host srv 203.0.113.10 plus the sites
//                                 (default: one site of every kind)
//   down [PREFIX]                 delete every namespace PREFIX-*
//   status [PREFIX]               namespaces, IPv4 addresses and each router's NAT kind
//   kind PREFIX NAME KIND         switch router PREFIX-NAME-r to KIND (existing flows keep theirs)
//   flush PREFIX NAME             forget every mapping of router PREFIX-NAME-r
// The lab stays up after `up` returns: nothing here is tied to this process.
import { NatLab, SITE_KINDS, type SiteKind } from './nat-lab.js';
import { NAT_KINDS, applyNatKind, currentNatKind, flushNatState, isNatKind } from './nat-rules.js';
import { Netns } from './netns.js';
import { runCommand } from './process.js';

const DEFAULT_PREFIX = 'nl';
const DEFAULT_SITES: ReadonlyArray<readonly [string, SiteKind]> = [
  ['pu', 'public'], ['fc', 'full-cone'], ['rc', 'restricted-cone'], ['pr', 'port-restricted'],
  ['sy', 'symmetric'], ['ub', 'udp-blocked'], ['tb', 'two-behind-one'], ['cg', 'cgnat'],
];
const USAGE = `usage: nat-lab.sh up [PREFIX] [NAME=KIND ...] | down [PREFIX] | status [PREFIX]
                  | kind PREFIX NAME KIND | flush PREFIX NAME
site kinds: ${SITE_KINDS.join(', ')}; router kinds (for "kind"): ${NAT_KINDS.join(', ')}`;

async function up(prefix: string, specs: string[]): Promise<void> {
  const sites = specs.length ? specs.map(parseSpec) : DEFAULT_SITES;
  const lab = await NatLab.create(undefined, { prefix, persistent: true });
  try {
    await lab.publicHost('srv', '203.0.113.10');
    console.log(`${prefix}-srv  public host 203.0.113.10 (for the signal server)`);
    for (const [name, kind] of sites) {
      const s = await lab.site(name, kind);
      const via = s.carrier ? ` via ${s.routerWanAddress} behind carrier ${prefix}-${s.carrier.name}-r (${s.carrier.natKind})` : '';
      const hosts = s.hosts.map((h, i) => `${h.name} ${s.hostAddresses[i]}`).join(', ');
      console.log(`site ${name} (${kind}): ${hosts}; seen as ${s.wanAddress}${via}`);
    }
  } catch (err) {
    await lab.destroy().catch(() => undefined);
    throw err;
  }
}

function parseSpec(spec: string): [string, SiteKind] {
  const [name, kind] = spec.split('=');
  if (!name || !kind || !(SITE_KINDS as readonly string[]).includes(kind)) throw new Error(`bad site ${JSON.stringify(spec)}: want NAME=KIND\n${USAGE}`);
  return [name, kind as SiteKind];
}

async function status(prefix: string): Promise<void> {
  const names = await NatLab.namespaces(prefix);
  if (names.length === 0) {
    console.log(`no namespaces ${prefix}-*: the lab is down`);
    return;
  }
  for (const name of names) {
    const addrs = await runCommand('ip', ['-n', name, '-4', '-br', 'addr', 'show'], { allowFail: true });
    const list = addrs.stdout.split('\n').filter((l) => l && !l.startsWith('lo ')).map((l) => l.split(/\s+/).filter(Boolean));
    const text = list.map(([dev, , ...a]) => `${dev.replace(/@.*/, '')} ${a.join(' ')}`).join('; ');
    const kind = name.endsWith('-r') ? await currentNatKind(name) : undefined;
    console.log(`${name.padEnd(14)} ${kind ? `[${kind}] ` : ''}${text}`);
  }
}

function routerOf(prefix: string, name: string | undefined): string {
  const ns = `${prefix}-${name ?? ''}-r`;
  if (!name || !Netns.exists(ns)) throw new Error(`no router namespace ${ns}`);
  return ns;
}

async function main(argv: string[]): Promise<void> {
  // `up a=symmetric` means the default prefix.
  if (argv[0] === 'up' && argv[1]?.includes('=')) argv.splice(1, 0, DEFAULT_PREFIX);
  const [cmd, prefix = DEFAULT_PREFIX, ...rest] = argv;
  switch (cmd) {
    case 'up':
      return up(prefix, rest);
    case 'down': {
      const gone = await NatLab.down(prefix);
      console.log(gone.length ? `deleted ${gone.join(' ')}` : `nothing to delete for ${prefix}-*`);
      return;
    }
    case 'status':
      return status(prefix);
    case 'kind': {
      const [name, kind] = rest;
      if (!kind || !isNatKind(kind)) throw new Error(USAGE);
      await applyNatKind(routerOf(prefix, name), kind);
      return;
    }
    case 'flush':
      return flushNatState(routerOf(prefix, rest[0]));
    default:
      throw new Error(USAGE);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
