// Issue 5 on the NAT lab: pairs that cannot punch (symmetric × symmetric, cgnat × cgnat,
// symmetric × port-restricted; and symmetric × cgnat through a bounce behind a full-cone NAT)
// meet through a bounce peer. Both agents' status must say `relay` through the bounce, pings and
// a 20 MB checksummed TCP transfer must cross it, and a capture at the bounce must show nothing
// but relay headers around WireGuard messages (and the bounce's own member traffic): never the
// tunnel's plaintext. Junk and forged binds at a live bounce are refused and counted.
import t from 'tap';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Site } from './lib/nat-lab.js';
import { createRoomLab } from './lib/room-lab.js';
import { requireRootOrSkip } from './lib/root.js';
import { pingCount } from './lib/join-agent.js';
import { waitPath } from './lib/relay-wait.js';
import { gsoSegments, readUdpFromPcap } from './lib/pcap.js';
import { decodeRelayPacket, encodeBind, encodeData, isRelayablePayload, RELAY_DATA, RELAY_MAGIC } from '../shared/wire/relay.js';
import { looksLikeWireGuard } from '../shared/wire/wireguard.js';
import { looksLikeDisco } from '../shared/wire/disco.js';
import { randomBytes, randomInt } from 'node:crypto';
import { projectRoot } from './lib/wgp2p-tunnel.js';
import { isStunMessage } from '../shared/stun/message.js';
import type { Netns } from './lib/netns.js';
import { tcpTransfer } from './lib/tcp-transfer.js';

const NEEDS = { binaries: ['nft', 'conntrack', 'sysctl', 'node', 'ping', 'tcpdump'], tun: true, probeName: 'rb-probe' };
const SECRET = 'rb-relay-secret-0123456789abcdef';
const MB = 1024 * 1024;

t.setTimeout(400_000);

/** The namespace's one Ethernet (veth) interface: a lab host's uplink. */
async function uplink(ns: Netns): Promise<string> {
  const out = (await ns.exec('ip', ['-o', 'link', 'show', 'type', 'veth'])).stdout;
  const names = [...out.matchAll(/^\d+: ([^:@]+)[:@]/gm)].map((m) => m[1]!);
  if (names.length !== 1) throw new Error(`expected one uplink in ${ns.name}, got ${names.join(', ')}`);
  return names[0]!;
}

/** What the bounce sees: relay packets with members' WireGuard inside, and its own member traffic. */
function classify(payload: Buffer): 'relayed-wireguard' | 'relay-control' | 'own' | 'other' {
  const p = decodeRelayPacket(payload);
  if (p) return p.type === RELAY_DATA ? (isRelayablePayload(p.payload) ? 'relayed-wireguard' : 'other') : 'relay-control';
  if (looksLikeWireGuard(payload) || isStunMessage(payload) || looksLikeDisco(payload)) return 'own';
  return 'other';
}

t.test('pairs that cannot punch meet through a bounce peer', async (t) => {
  if (!(await requireRootOrSkip(t, NEEDS))) return;
  // Each pair gets a room of its own on the one server (relay-0 is the first pair's).
  const { lab, otherRoom } = await createRoomLab(t, { prefix: 'rb', room: 'relay-0', secret: SECRET });
  const bounceHost = await lab.publicHost('bnc', '203.0.113.20');
  const sites: Record<string, Site> = {
    sy1: await lab.site('sy1', 'symmetric'),
    sy2: await lab.site('sy2', 'symmetric'),
    cg1: await lab.site('cg1', 'cgnat'),
    cg2: await lab.site('cg2', 'cgnat'),
    pr: await lab.site('pr', 'port-restricted'),
  };
  // A bounce behind a full-cone NAT is reachable too (through its STUN-mapped address).
  const fullCone = (await lab.site('fc', 'full-cone')).hosts[0]!;
  const pairs: [string, string, 'public' | 'full-cone'][] = [
    ['sy1', 'sy2', 'public'],
    ['cg1', 'cg2', 'public'],
    ['sy1', 'pr', 'public'],
    ['sy2', 'cg1', 'full-cone'],
  ];
  for (const [i, [x, y, where]] of pairs.entries()) {
    await t.test(`${sites[x]!.kind} × ${sites[y]!.kind}, bounce on a ${where} host`, async (t) => {
      const host = where === 'public' ? bounceHost : fullCone;
      const room = otherRoom(`relay-${i}`, t);
      const bounce = await room.join(host, { name: `bounce${i}`, ifname: `rb${i}z`, args: ['--bounce', '--metrics-listen', '127.0.0.1:9100'] });
      // Symmetric × port-restricted would go direct by birthday punching (join-birthday.test.ts): here it must relay.
      const args = ['--no-birthday'];
      const a = await room.join(sites[x]!.hosts[0]!, { name: `${x}-a`, ifname: `rb${i}a`, args });
      const b = await room.join(sites[y]!.hosts[0]!, { name: `${y}-b`, ifname: `rb${i}b`, args });
      const [sa, sb] = await waitPath(a, b, 'a relayed path through the bounce', (s) => s.path === 'relay' && s.relay === `bounce${i}`, 15_000);
      t.pass(`relayed both ways through the bounce (${sa.endpoint} / ${sb.endpoint})`);
      const addrA = (await a.status()).self.address!;
      const addrB = (await b.status()).self.address!;
      t.equal(await pingCount(a.ns, addrB, 5), 5, 'a pings b through the relay');
      t.equal(await pingCount(b.ns, addrA, 5), 5, 'b pings a through the relay');
      if (i === 0) {
        // Hostile datagrams at the bounce from a stranger: junk behind the relay magic, binds with
        // forged proofs (as a member id it knows), data from an address nobody bound. All refused
        // and counted; the relaying carries on (the transfer below).
        const before = (await bounce.status()).counters;
        const bouncePort = (await bounce.status()).self.listenPort;
        const memberId = 'x'.repeat(21);
        const junk = [
          ...Array.from({ length: 300 }, () => Buffer.concat([RELAY_MAGIC, randomBytes(randomInt(0, 120))])),
          ...Array.from({ length: 20 }, () => encodeBind(randomBytes(12), memberId, randomBytes(40))),
          ...Array.from({ length: 20 }, () => encodeData(memberId, Buffer.concat([Buffer.from([4, 0, 0, 0]), randomBytes(60)]))),
        ];
        await sites[y]!.hosts[0]!.exec('node', [join(projectRoot(), 'e2e/tools/udp-send.mjs'), '203.0.113.20', String(bouncePort), 'hex'], { input: junk.map((d) => d.toString('hex')).join('\n') });
        await new Promise((r) => setTimeout(r, 300));
        const after = (await bounce.status()).counters;
        const grew = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
        t.ok(grew('bounce_dropped_bad_auth') >= 20, `forged binds refused (+${grew('bounce_dropped_bad_auth')})`);
        t.ok(grew('bounce_dropped_unbound_source') >= 20, `data from an unbound address refused (+${grew('bounce_dropped_unbound_source')})`);
        t.ok(grew('relay_malformed') + grew('bounce_dropped_malformed') + grew('bounce_dropped_unbound_source') + grew('bounce_dropped_bad_auth') >= 250, 'the junk was counted');
        t.equal(after.internal_errors ?? 0, 0, 'no internal error on the bounce');
        t.ok(bounce.process.running, 'the bounce is still running');
        // A capture at the bounce while a pings b with a recognisable payload.
        const pcap = join(await mkdtemp(join(tmpdir(), 'wgp2p-relay-pcap-')), 'bounce.pcap');
        const port = (await bounce.status()).self.listenPort;
        const capture = bounceHost.spawn('tcpdump', ['-Z', 'root', '--immediate-mode', '-n', '-U', '-i', await uplink(bounceHost), '-w', pcap, 'udp', 'port', String(port)], { name: 'rb.tcpdump' });
        await capture.waitForOutput(/listening on/, 10_000);
        const PATTERN = 'c0ffee15deadbeef0123456789abcdef';
        const patterned = await a.ns.exec('ping', ['-c', '10', '-i', '0.1', '-s', '400', '-p', PATTERN, addrB], { allowFail: true });
        const received = Number(/(\d+) received/.exec(patterned.stdout)?.[1] ?? 0);
        t.ok(received >= 8, `patterned pings through the relay (${received}/10)`);
        await new Promise((r) => setTimeout(r, 300));
        await capture.kill('SIGINT');
        const seen = (await readUdpFromPcap(pcap)).flatMap((d) => gsoSegments(d.payload, (p) => classify(p) !== 'other'));
        const kinds = new Map<string, number>();
        for (const p of seen) kinds.set(classify(p), (kinds.get(classify(p)) ?? 0) + 1);
        t.comment(`captured at the bounce: ${JSON.stringify(Object.fromEntries(kinds))}`);
        // Say what an unexpected datagram was, so a failure can be explained from the log alone.
        for (const p of seen.filter((d) => classify(d) === 'other').slice(0, 4)) t.comment(`other (${p.length} B): ${p.subarray(0, 48).toString('hex')}`);
        // Each answered ping crosses the bounce four times (a→bounce→b, b→bounce→a).
        t.ok((kinds.get('relayed-wireguard') ?? 0) >= 4 * received, 'the pings crossed as relayed WireGuard transport messages');
        t.equal(kinds.get('other') ?? 0, 0, 'nothing else: only WireGuard messages behind the relay header');
        const pattern = Buffer.from(PATTERN, 'hex');
        t.equal(seen.filter((p) => p.includes(pattern)).length, 0, 'the tunnel plaintext (the ping pattern) appears nowhere');
        const relayedIcmp = seen.map((p) => decodeRelayPacket(p)).filter((p) => p?.type === RELAY_DATA && looksLikeWireGuard(p.payload) && p.payload[0] === 4 && p.payload.length >= 400);
        t.ok(relayedIcmp.length >= 20, `the big pings crossed as transport messages (${relayedIcmp.length})`);
      }
      const r = await tcpTransfer(a.ns, b.ns, addrB, { bytes: 20 * MB, timeoutMs: 90_000 });
      t.equal(r.receivedBytes, 20 * MB, '20 MB arrived');
      t.equal(r.receivedSha256, r.sentSha256, 'checksums match');
      t.comment(`20 MB through the bounce in ${r.seconds.toFixed(2)} s (${((20 * 8) / r.seconds).toFixed(0)} Mbit/s)`);
      const ping = await a.cli(['ping', `${y}-b`, '--json']);
      const answer = JSON.parse(ping.stdout) as { path: string; relay: string; rttMs: number };
      t.equal(answer.path, 'relay', 'wgp2p ping says relay');
      t.equal(answer.relay, `bounce${i}`, 'and through which bounce');
      const counters = (await bounce.status()).counters;
      t.ok((counters.bounce_relayed_packets ?? 0) > 10_000, `the bounce relayed ${counters.bounce_relayed_packets} packets`);
      const metrics = (await host.exec('node', ['-e', "fetch('http://127.0.0.1:9100/metrics').then((r) => r.text()).then((s) => process.stdout.write(s))"])).stdout;
      const packets = Number(/^wgp2p_relayed_packets_total\{via="udp"\} (\d+)$/m.exec(metrics)?.[1]);
      const bytes = Number(/^wgp2p_relayed_bytes_total\{via="udp"\} (\d+)$/m.exec(metrics)?.[1]);
      t.ok(packets >= (counters.bounce_relayed_packets ?? Infinity), `the bounce's /metrics count the relayed packets (${packets})`);
      t.ok(bytes > 20 * MB, `and bytes (${bytes})`);
      t.match(metrics, /^wgp2p_relay_bindings 2$/m, 'two members bound');
    });
  }
});
