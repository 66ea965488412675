// `npm run demo`: the main job on an embedded default. A `wgp2p server --relay` and a bounce peer
// (`wgp2p join --bounce`) on public hosts, and five `wgp2p join` agents behind different NATs of the
// NAT lab (one with UDP blocked) join room "office"; the demo prints which pairs are direct and
// which relayed (through which relay), pings through each, shows one agent's status, cleans up.
import { NatLab, type SiteKind } from '../lib/nat-lab.js';
import { startJoinAgent, startSignalServer, type JoinAgent } from '../lib/join-agent.js';
import { sleep } from '../lib/process.js';

const PREFIX = 'demo';
const MEMBERS: [string, SiteKind][] = [
  ['alice', 'port-restricted'],
  ['bob', 'full-cone'],
  ['carol', 'symmetric'],
  ['dave', 'cgnat'],
  ['erin', 'udp-blocked'],
];
const SECRET = 'demo-secret-do-not-reuse-0123456789';

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo needs root (network namespaces, TUN devices)');
  console.log('== building the NAT lab: a fake internet, a public server host, one site per NAT kind');
  const lab = await NatLab.create(undefined, { prefix: PREFIX });
  try {
    const srv = await lab.publicHost('srv', '203.0.113.10');
    const server = await startSignalServer(srv, '203.0.113.10', 'server', ['--relay']);
    console.log(`   wgp2p server --relay at ${server.url} (STUN on 3478/3479, UDP relay on 3480, WebSocket relay)`);
    const bounceHost = await lab.publicHost('bnc', '203.0.113.20');
    const bounce = await startJoinAgent(bounceHost, { name: 'relay1', room: 'office', server: server.url, secret: SECRET, ifname: 'wgp2p-relay1', args: ['--bounce'] });
    console.log(`   relay1 (wgp2p join --bounce) on a public host, 203.0.113.20`);
    const agents: JoinAgent[] = [];
    for (const [name, kind] of MEMBERS) {
      const site = await lab.site(name, kind);
      console.log(`   ${name.padEnd(6)} behind a ${kind} NAT, public address ${site.wanAddress}`);
      agents.push(await startJoinAgent(site.hosts[0]!, { name, room: 'office', server: server.url, secret: SECRET, ifname: `wgp2p-${name}` }));
    }
    console.log(`== all ${agents.length} ran \`wgp2p join --room office\`; waiting for paths (at most 15 s)`);
    const deadline = Date.now() + 15_000;
    let statuses = await Promise.all(agents.map((a) => a.status()));
    const pairs = (agents.length * (agents.length - 1)) / 2;
    const withPath = () => statuses.reduce((n, s) => n + s.peers.filter((p) => p.name !== bounce.name && p.path !== undefined && p.lastHandshake).length, 0) / 2;
    while (Date.now() < deadline && withPath() < pairs) {
      await sleep(500);
      statuses = await Promise.all(agents.map((a) => a.status()));
    }
    console.log('== pairs: direct where punching works, else relayed (still end-to-end encrypted) through relay1, the server, or its WebSocket');
    for (let i = 0; i < agents.length; i++) {
      for (let j = i + 1; j < agents.length; j++) {
        const a = agents[i]!;
        const b = agents[j]!;
        const peerB = statuses[i]!.peers.find((p) => p.name === b.name);
        const path =
          peerB?.path === 'direct'
            ? `direct via ${peerB.endpoint}, rtt ${peerB.rttMs ?? '?'} ms`
            : peerB?.path === 'relay'
              ? `relayed through ${peerB.relay} (${peerB.endpoint}), rtt ${peerB.rttMs ?? '?'} ms`
              : 'no path yet';
        let ping = '';
        if (peerB?.path && peerB.address) {
          const r = await a.ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', peerB.address.split('/')[0]!], { allowFail: true, timeoutMs: 15_000 });
          ping = `, ping ${peerB.address.split('/')[0]}: ${/(\d+) received/.exec(r.stdout)?.[1] ?? 0}/3 answered`;
        }
        console.log(`   ${a.name.padEnd(6)} <-> ${b.name.padEnd(6)} ${path}${ping}`);
      }
    }
    if (bounce.process.running) {
      const c = (await bounce.status()).counters;
      console.log(`== relay1 forwarded ${c.bounce_relayed_packets ?? 0} packets (${c.bounce_relayed_bytes ?? 0} bytes) it cannot read`);
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
