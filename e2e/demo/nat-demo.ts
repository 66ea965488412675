// `npm run demo`: the main job on an embedded default. A `wgp2p server` on a public host and four
// `wgp2p join` agents behind different NATs of the NAT lab join room "office"; the demo prints
// which pairs found a direct path, pings through each, shows one agent's status, and cleans up.
import { NatLab, type SiteKind } from '../lib/nat-lab.js';
import { startJoinAgent, startSignalServer, type JoinAgent } from '../lib/join-agent.js';
import { sleep } from '../lib/process.js';

const PREFIX = 'demo';
const MEMBERS: [string, SiteKind][] = [
  ['alice', 'port-restricted'],
  ['bob', 'full-cone'],
  ['carol', 'restricted-cone'],
  ['dave', 'symmetric'],
];

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo needs root (network namespaces, TUN devices)');
  console.log('== building the NAT lab: a fake internet, a public server host, one site per NAT kind');
  const lab = await NatLab.create(undefined, { prefix: PREFIX });
  try {
    const srv = await lab.publicHost('srv', '203.0.113.10');
    const server = await startSignalServer(srv, '203.0.113.10');
    console.log(`   wgp2p server at ${server.url} (STUN on 3478/3479)`);
    const agents: JoinAgent[] = [];
    for (const [name, kind] of MEMBERS) {
      const site = await lab.site(name, kind);
      console.log(`   ${name.padEnd(6)} behind a ${kind} NAT, public address ${site.wanAddress}`);
      agents.push(await startJoinAgent(site.hosts[0]!, { name, room: 'office', server: server.url, secret: 'demo-secret-do-not-reuse-0123456789', ifname: `wgp2p-${name}` }));
    }
    console.log('== all four ran `wgp2p join --room office`; waiting for paths (at most 12 s)');
    const deadline = Date.now() + 12_000;
    let statuses = await Promise.all(agents.map((a) => a.status()));
    const directCount = () => statuses.reduce((n, s) => n + s.peers.filter((p) => p.path === 'direct').length, 0);
    while (Date.now() < deadline && directCount() < 10) {
      await sleep(500);
      statuses = await Promise.all(agents.map((a) => a.status()));
    }
    console.log('== pairs (path as each side reports it; symmetric NAT cannot be punched with every peer: that needs the relay)');
    for (let i = 0; i < agents.length; i++) {
      for (let j = i + 1; j < agents.length; j++) {
        const a = agents[i]!;
        const b = agents[j]!;
        const peerB = statuses[i]!.peers.find((p) => p.name === b.name);
        const path = peerB?.path === 'direct' ? `direct via ${peerB.endpoint}, rtt ${peerB.rttMs ?? '?'} ms` : 'no direct path';
        let ping = '';
        if (peerB?.path === 'direct' && peerB.address) {
          const r = await a.ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', peerB.address.split('/')[0]!], { allowFail: true, timeoutMs: 15_000 });
          ping = `, ping ${peerB.address.split('/')[0]}: ${/(\d+) received/.exec(r.stdout)?.[1] ?? 0}/3 answered`;
        }
        console.log(`   ${a.name.padEnd(6)} <-> ${b.name.padEnd(6)} ${path}${ping}`);
      }
    }
    console.log('== wgp2p status on alice');
    process.stdout.write((await agents[0]!.cli(['status'])).stdout);
  } finally {
    console.log('== tearing the lab down');
    await NatLab.down(PREFIX);
  }
}

main().catch((e: unknown) => {
  console.error(`demo: ${(e as Error).message}`);
  process.exitCode = 1;
});
