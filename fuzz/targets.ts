// Fuzz targets: one per network-facing decoder. Each takes raw bytes, throws only when an
// invariant breaks (that is a crash), and returns a short outcome label; inputs with a new label
// join the in-memory corpus (outcome-guided, not coverage-guided: see fuzz/run.ts).
import { createHash } from 'node:crypto';
import type { Endpoint } from '../shared/net/address.js';
import { parsePrefix } from '../shared/net/address.js';
import { Device } from '../agent/wireguard/device.js';
import { PrivateKey } from '../agent/wireguard/crypto.js';
import { decodeInitiation, decodeResponse, decodeCookieReply } from '../agent/wireguard/messages.js';
import { messageType, MSG_INITIATION, MSG_RESPONSE, MSG_COOKIE_REPLY } from '../shared/wire/wireguard.js';
import { ipv4Packet } from '../agent/test/fixtures/engine-net.js';
import { decodeStunMessage, parseBindingResponse, decodeAddress, decodeXorAddress, decodeErrorCode, decodeUnknownAttributes, stunBindingRequest, encodeStunMessage, encodeXorAddress, encodeErrorCode, BINDING_SUCCESS, BINDING_ERROR, ATTR_XOR_MAPPED_ADDRESS, ATTR_ERROR_CODE } from '../shared/stun/index.js';
import { RelaySwitch } from '../shared/relay/relay-switch.js';
import { decodeRelayPacket, decodeWsFrame, encodeBind, encodeBound, encodeChallenge, encodeData, encodeUnreachable, encodeWsFrame, RELAY_BIND, RELAY_BOUND, RELAY_CHALLENGE, RELAY_DATA, type RelayPacket } from '../shared/wire/relay.js';
import { peekDisco } from '../shared/wire/disco.js';
import { classifyDatagram, encodePing, encodePong, openDisco } from '../agent/join/paths/direct/disco.js';
import { makeEndpoint } from '../shared/net/address.js';
import { parseClientMessage, parseServerMessage } from '../shared/signal/index.js';
import { applySet, formatGet, UapiError } from '../agent/uapi/protocol.js';
import { parseWgQuick } from '../agent/config/wg-quick.js';
import { ConfigError } from '../shared/errors.js';

export interface FuzzTarget {
  name: string;
  /** Valid encodings: what `--write-corpus` commits under fuzz/corpus/<name>/. */
  seeds(): Buffer[];
  /** Inputs the target makes for itself at start (e.g. a live session's datagrams). */
  liveSeeds?(): Buffer[];
  maxLength: number;
  fuzz(data: Buffer): string;
}

const fixedKey = (label: string) => new PrivateKey(createHash('sha256').update(`wgp2p fuzz ${label}`).digest());

// --- WireGuard: Device.receive on a device with a live session --------------------------------

function wireguardTarget(): FuzzTarget {
  const ka = fixedKey('a');
  const kb = fixedKey('b');
  const queue: { data: Buffer; to: 'a' | 'b' }[] = [];
  const captured: Buffer[] = [];
  const tunB: Buffer[] = [];
  const clock = { mono: 10_000, now: () => clock.mono, wallNow: () => Date.UTC(2026, 0, 1) + clock.mono };
  const epA: Endpoint = { address: '198.51.100.1', port: 51820, family: 4 };
  const epB: Endpoint = { address: '198.51.100.2', port: 51820, family: 4 };
  const out = (self: 'a' | 'b') => ({
    udp: (data: Buffer) => {
      queue.push({ data: Buffer.from(data), to: self === 'a' ? 'b' : 'a' });
      captured.push(Buffer.from(data));
    },
    tun: (p: Buffer) => (self === 'b' ? tunB.push(p) : undefined),
  });
  const a = new Device({ privateKey: ka.raw, clock, jitter: () => 0, output: out('a') });
  const b = new Device({ privateKey: kb.raw, clock, jitter: () => 0, output: out('b') });
  const pa = a.addPeer(kb.publicKey)!;
  const pb = b.addPeer(ka.publicKey)!;
  a.allowedIps.insert(parsePrefix('10.0.0.2/32'), pa);
  b.allowedIps.insert(parsePrefix('10.0.0.1/32'), pb);
  pa.endpoint = epB;
  pb.endpoint = epA;
  const flush = () => {
    for (let i = 0; i < 100 && queue.length; i++) for (const d of queue.splice(0)) (d.to === 'a' ? a : b).receive(d.data, d.to === 'a' ? epB : epA);
  };
  a.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 'one'));
  flush();
  b.sendPacket(ipv4Packet('10.0.0.2', '10.0.0.1', 'two'));
  flush();
  const indices = () => (b as unknown as { indices: Map<number, unknown> }).indices.size;
  const counted = () => [...b.counters.values()].reduce((s, v) => s + v, 0);
  const attacker: Endpoint = { address: '203.0.113.9', port: 9, family: 4 };
  return {
    name: 'wireguard',
    maxLength: 300,
    seeds: () => captured.filter((d) => d[0] === MSG_INITIATION).slice(0, 1).concat(captured.filter((d) => d[0] !== MSG_INITIATION).slice(0, 3)),
    liveSeeds: () => captured,
    fuzz(data) {
      const type = messageType(data);
      if (type === MSG_INITIATION) decodeInitiation(data);
      else if (type === MSG_RESPONSE) decodeResponse(data);
      else if (type === MSG_COOKIE_REPLY) decodeCookieReply(data);
      const before = { i: indices(), c: counted(), t: tunB.length, e: pb.endpoint, rx: pb.stats.rxBytes };
      const snapshot = new Map(b.counters);
      b.receive(data, attacker);
      if (indices() !== before.i || tunB.length !== before.t || pb.endpoint !== before.e || pb.stats.rxBytes !== before.rx) throw new Error('invariant: unauthenticated datagram changed device state');
      if (counted() !== before.c + 1) throw new Error('invariant: datagram not counted exactly once');
      for (const [k, v] of b.counters) if (snapshot.get(k) !== v) return `t${type}:${k}`;
      return `t${type}`;
    },
  };
}

// --- STUN -----------------------------------------------------------------------------------

const stunTarget: FuzzTarget = {
  name: 'stun',
  maxLength: 200,
  seeds() {
    const id = new Uint8Array(12).fill(7);
    return [
      stunBindingRequest({ transactionId: id, software: 'wgp2p', changePort: true }).packet,
      encodeStunMessage({ type: BINDING_SUCCESS, transactionId: id, attributes: [{ type: ATTR_XOR_MAPPED_ADDRESS, value: encodeXorAddress({ family: 'IPv6', address: '2001:db8::1', port: 4242 }, id) }] }, { fingerprint: true, integrityKey: Buffer.from('pw') }),
      encodeStunMessage({ type: BINDING_ERROR, transactionId: id, attributes: [{ type: ATTR_ERROR_CODE, value: encodeErrorCode({ code: 420, reason: 'Unknown Attribute' }) }] }),
    ];
  },
  fuzz(data) {
    const m = decodeStunMessage(data);
    const r = parseBindingResponse(data);
    if (m) for (const a of m.attributes) decodeAddress(a.value) ?? decodeXorAddress(a.value, m.transactionId) ?? decodeErrorCode(a.value) ?? decodeUnknownAttributes(a.value);
    return m ? `${m.type}:${m.fingerprint}:${m.integrityOffset !== undefined}:${Math.min(m.attributes.length, 4)}:${r?.kind}` : 'none';
  },
};

// --- relay wire and switch -----------------------------------------------------------------

function encodeRelay(p: RelayPacket): Buffer {
  if (p.type === RELAY_BIND) return encodeBind(p.txid, p.id, p.auth, p.cookie);
  if (p.type === RELAY_BOUND) return encodeBound(p.txid);
  if (p.type === RELAY_CHALLENGE) return encodeChallenge(p.txid, p.cookie);
  if (p.type === RELAY_DATA) return encodeData(p.id, p.payload);
  return encodeUnreachable(p.id);
}

function relayTarget(): FuzzTarget {
  const sw = new RelaySwitch({ authorize: (id) => id !== 'nobody', mayForward: () => true });
  let now = 1_000_000;
  const from: Endpoint = { address: '192.0.2.1', port: 1000, family: 4 };
  const wg = Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.alloc(28, 1)]);
  return {
    name: 'relay',
    maxLength: 200,
    seeds: () => [
      encodeBind(Buffer.alloc(12, 1), 'alice', Buffer.from('token'), Buffer.alloc(16, 2)),
      encodeBound(Buffer.alloc(12, 3)),
      encodeChallenge(Buffer.alloc(12, 4), Buffer.alloc(16, 5)),
      encodeData('bob', wg),
      encodeUnreachable('carol'),
      encodeWsFrame('dave', wg),
    ],
    fuzz(data) {
      const p = decodeRelayPacket(data);
      if (p && !encodeRelay(p).equals(data)) throw new Error('invariant: relay packet does not re-encode to its bytes');
      const ws = decodeWsFrame(data);
      if (ws && !encodeWsFrame(ws.id, ws.payload).equals(data)) throw new Error('invariant: ws frame does not re-encode to its bytes');
      now += 7;
      const before = sw.stats.packets + sw.stats.binds + sw.stats.challenges + [...sw.stats.dropped.values()].reduce((s, v) => s + v, 0);
      const out = sw.receive(Buffer.from(data), from, now); // a copy: a forwarded DATA is rewritten in place
      const after = sw.stats.packets + sw.stats.binds + sw.stats.challenges + [...sw.stats.dropped.values()].reduce((s, v) => s + v, 0);
      if (after !== before + 1) throw new Error('invariant: relay datagram not counted exactly once');
      return `${p?.type ?? 'none'}:${ws ? 'ws' : ''}:${out.map((o) => o.data[4]).join(',')}`;
    },
  };
}

// --- disco -----------------------------------------------------------------------------------

const discoKey = Buffer.alloc(32, 0x42);
const discoTarget: FuzzTarget = {
  name: 'disco',
  maxLength: 100,
  seeds: () => [
    encodePing(discoKey, 0, Buffer.alloc(8, 1), Buffer.alloc(12, 2)),
    encodePong(discoKey, 1, Buffer.alloc(8, 1), Buffer.alloc(12, 2), makeEndpoint('198.51.100.4', 40000)),
    encodePong(discoKey, 0, Buffer.alloc(8, 1), Buffer.alloc(12, 3), makeEndpoint('2001:db8::4', 40001)),
  ],
  fuzz(data) {
    const kind = classifyDatagram(data);
    const h = peekDisco(data);
    const o = openDisco(discoKey, data);
    if (o && !h) throw new Error('invariant: opened a probe whose header does not parse');
    return `${kind}:${h?.type ?? '-'}:${o ? 'open' : '-'}`;
  },
};

// --- signalling frames -------------------------------------------------------------------------

const signalTarget: FuzzTarget = {
  name: 'signal',
  maxLength: 300,
  seeds: () =>
    [
      { type: 'hello', v: 1, token: 't0k', ref: 'r1' },
      { type: 'join', room: 'a'.repeat(64), announce: 'AAAA' },
      { type: 'send', room: 'b'.repeat(64), to: 'm_2', data: 'QUJD' },
      { type: 'welcome', v: 1, serverId: 's1', id: 'm1', stunPort: 3478, wsRelay: true },
      { type: 'members', room: 'c'.repeat(64), members: [{ id: 'm2', announce: 'AA==', seen: '203.0.113.7' }], ref: 'x' },
      { type: 'member-update', room: 'd'.repeat(64), id: 'm4', announce: 'AA==', seen: '2001:db8::7' },
      { type: 'error', code: 'BAD_FIELD', message: 'no', member: 'm3' },
    ].map((f) => Buffer.from(JSON.stringify(f))),
  fuzz(data) {
    const text = data.toString('utf8');
    const labels: string[] = [];
    for (const parse of [parseClientMessage, parseServerMessage] as ((s: string) => { ok: boolean; message: unknown; code?: string })[]) {
      const r = parse(text);
      if ((Object.prototype as Record<string, unknown>).polluted !== undefined) throw new Error('invariant: prototype polluted');
      if (r.ok) {
        const again = parse(JSON.stringify(r.message));
        if (!again.ok || JSON.stringify(again.message) !== JSON.stringify(r.message)) throw new Error('invariant: accepted frame does not round-trip');
        labels.push(`ok:${(r.message as { type: string }).type}`);
      } else labels.push(r.code ?? '?');
    }
    return labels.join('/');
  },
};

// --- UAPI and wg-quick (text) ----------------------------------------------------------------

/** The first word of an error message when it is one of ours: echoed input would make every label new. */
const VOCABULARY = /^(unknown|malformed|update_only|remove|replace_allowed_ips|replace_peers|protocol_version|endpoint|allowed_ip|preshared_key|public_key|private_key|listen_port|fwmark|persistent_keepalive_interval|expected|a|no|the|\[Interface\]|\[Peer\]|PrivateKey|PublicKey|PresharedKey|ListenPort|Address|MTU|FwMark|AllowedIPs|Endpoint|PersistentKeepalive):?$/i;
const firstWord = (m: string) => {
  const w = m.replace(/^line \d+: /, '').split(' ')[0] ?? '';
  return VOCABULARY.test(w) ? w : 'other';
};

const uapiTarget: FuzzTarget = {
  name: 'uapi',
  maxLength: 400,
  seeds: () => [
    Buffer.from(`public_key=${'ab'.repeat(32)}\npreshared_key=${'cd'.repeat(32)}\nendpoint=192.0.2.1:51820\npersistent_keepalive_interval=25\nreplace_allowed_ips=true\nallowed_ip=10.0.0.2/32\nallowed_ip=fd00::/64\nprotocol_version=1`),
    Buffer.from(`listen_port=51820\nfwmark=7\nreplace_peers=true\npublic_key=${'ef'.repeat(32)}\nupdate_only=true\nendpoint=[2001:db8::1]:1`),
    Buffer.from(`public_key=${'12'.repeat(32)}\nremove=true\nallowed_ip=-10.0.0.0/8`),
  ],
  fuzz(data) {
    const d = new Device({ output: { udp() {}, tun() {} } });
    try {
      applySet(d, data.toString('utf8').split('\n'));
      formatGet(d);
      return 'ok';
    } catch (e) {
      if (!(e instanceof UapiError)) throw e;
      return `errno${e.errno}:${firstWord(e.message)}`;
    }
  },
};

const wgQuickTarget: FuzzTarget = {
  name: 'wgquick',
  maxLength: 600,
  seeds: () => [
    Buffer.from(`[Interface]\nPrivateKey = ${fixedKey('q').raw.toString('base64')}\nListenPort = 51820\nAddress = 10.0.0.1/24, fd00::1/64\nMTU = 1420\nFwMark = 0x1f\nDNS = 1.1.1.1\n\n[Peer]\nPublicKey = ${fixedKey('p').publicKey.toString('base64')}\nAllowedIPs = 10.0.0.2/32, ::/0\nEndpoint = [2001:db8::1]:51820\nPersistentKeepalive = 25\n`),
    Buffer.from(`[Interface]\r\nPrivateKey = ${fixedKey('r').raw.toString('base64')} # comment\r\n[Peer]\r\nPublicKey = ${fixedKey('s').publicKey.toString('base64')}\r\nPresharedKey = ${Buffer.alloc(32, 3).toString('base64')}\r\nEndpoint = vpn.example.com:443\r\n`),
  ],
  fuzz(data) {
    try {
      parseWgQuick(data.toString('utf8'));
      return 'ok';
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return `E:${e.where === undefined ? 'file' : 'line'}:${firstWord(e.message)}`;
    }
  },
};

/** Made on demand: the WireGuard target runs a handshake and the relay one keeps a switch. */
export const TARGETS: Record<string, () => FuzzTarget> = {
  wireguard: wireguardTarget,
  stun: () => stunTarget,
  relay: relayTarget,
  disco: () => discoTarget,
  signal: () => signalTarget,
  uapi: () => uapiTarget,
  wgquick: () => wgQuickTarget,
};
