// Parser for wg-quick style tunnel files ([Interface] + [Peer] sections), with errors that name
// the file's line so a user can fix it without guessing.
import { parseAddress, parsePrefix, type Prefix } from '../../shared/net/address.js';
import { parseKey } from '../../shared/keys.js';
import { isIP } from 'node:net';
import { ConfigError } from '../../shared/errors.js';
import { parseHostPort, type HostPort } from '../../shared/net/host-port.js';

export interface InterfaceConfig {
  privateKey: Buffer;
  listenPort: number | undefined;
  /** Host addresses with their prefix length, as given ("10.0.0.1/24"). */
  addresses: string[];
  mtu: number | undefined;
  fwmark: number | undefined;
  /** wg-quick's host integration (only `wgp2p up` acts on it; absent for the join agent). */
  dns?: DnsSettings;
  /** Routing table for AllowedIPs: 'off' (no routes), 'auto' (default) or a table number. */
  table?: RouteTable;
  /** PreUp, PostUp, PreDown, PostDown commands, in file order (%i not yet replaced). */
  hooks?: QuickHooks;
}

export type RouteTable = 'off' | 'auto' | number;

export interface DnsSettings {
  /** `DNS =` entries that are addresses. */
  servers: string[];
  /** `DNS =` entries that are not addresses: search domains, as wg-quick takes them. */
  search: string[];
}

export interface QuickHooks {
  preUp: string[];
  postUp: string[];
  preDown: string[];
  postDown: string[];
}

const MAIN_TABLE = 254;
const MAX_TABLE = 0xffffffff;

export interface PeerConfig {
  publicKey: Buffer;
  presharedKey: Buffer | undefined;
  allowedIps: Prefix[];
  endpoint: HostPort | undefined;
  persistentKeepalive: number;
}

export interface TunnelConfig {
  interface: InterfaceConfig;
  peers: PeerConfig[];
  /** wg-quick keys we understood but do not act on (SaveConfig), for a warning. */
  ignored: string[];
}

/** A ConfigError naming the line of the file (when the problem has one). */
function lineError(message: string, line?: number): ConfigError {
  const where = line !== undefined ? `line ${line}` : undefined;
  return new ConfigError('bad_line', where ? `${where}: ${message}` : message, where);
}

/** An [Interface] section while it is read. */
interface InterfaceDraft extends Partial<InterfaceConfig> {
  seen: boolean;
  addresses: string[];
  dns: DnsSettings;
  hooks: QuickHooks;
  ignored: string[];
}

/** A [Peer] section while it is read. */
interface PeerDraft extends Partial<PeerConfig> {
  line: number;
  allowedIps: Prefix[];
}

/** What each key of a section (in lower case) does with its value; a throw names the key and the line. */
type KeyHandlers<T> = Record<string, (into: T, value: string, key: string) => void>;

const INTERFACE_KEYS: KeyHandlers<InterfaceDraft> = {
  privatekey: (i, v) => { i.privateKey = parseKey(v, 'PrivateKey'); },
  listenport: (i, v) => { i.listenPort = parsePort(v, true); },
  address: (i, v) => { for (const a of list(v)) i.addresses.push(parseHostCidr(a)); },
  mtu: (i, v) => { i.mtu = parseIntIn(v, 576, 65535, 'MTU'); },
  fwmark: (i, v) => { i.fwmark = v === 'off' ? 0 : parseFwmark(v); },
  dns: (i, v) => { for (const d of list(v)) (isIP(d) ? i.dns.servers : i.dns.search).push(d); },
  table: (i, v) => { i.table = parseTable(v); },
  // As with wg-quick, '#' starts a comment in a hook too; the first '=' ends the key.
  preup: (i, v) => { i.hooks.preUp.push(v); },
  postup: (i, v) => { i.hooks.postUp.push(v); },
  predown: (i, v) => { i.hooks.preDown.push(v); },
  postdown: (i, v) => { i.hooks.postDown.push(v); },
  // A wg-quick feature outside a userspace tunnel's job; accepted so existing files load.
  saveconfig: (i, _v, key) => { i.ignored.push(key); },
};

const PEER_KEYS: KeyHandlers<PeerDraft> = {
  publickey: (p, v) => { p.publicKey = parseKey(v, 'PublicKey'); },
  presharedkey: (p, v) => { p.presharedKey = parseKey(v, 'PresharedKey'); },
  allowedips: (p, v) => { for (const a of list(v)) p.allowedIps.push(parsePrefix(a)); },
  endpoint: (p, v) => { p.endpoint = parseEndpointHost(v); },
  persistentkeepalive: (p, v) => { p.persistentKeepalive = v === 'off' ? 0 : parseIntIn(v, 0, 65535, 'PersistentKeepalive'); },
};

/** Applies `key = value` to the section being read; a key the section does not have is an error. */
function applyKey<T>(handlers: KeyHandlers<T>, into: T, section: string, key: string, value: string): void {
  const k = key.toLowerCase();
  if (!Object.hasOwn(handlers, k)) throw new Error(`unknown key in [${section}]`);
  handlers[k]!(into, value, key);
}

export function parseWgQuick(text: string): TunnelConfig {
  let section: 'none' | 'interface' | 'peer' = 'none';
  const iface: InterfaceDraft = {
    seen: false,
    addresses: [],
    dns: { servers: [], search: [] },
    hooks: { preUp: [], postUp: [], preDown: [], postDown: [] },
    ignored: [],
  };
  const peers: PeerDraft[] = [];
  const lines = text.split(/\r?\n/);

  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      const name = header[1]!.toLowerCase();
      if (name === 'interface') {
        if (iface.seen) throw lineError('a second [Interface] section', n);
        iface.seen = true;
        section = 'interface';
      } else if (name === 'peer') {
        peers.push({ line: n, allowedIps: [] });
        section = 'peer';
      } else throw lineError(`unknown section [${header[1]}]`, n);
      return;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw lineError(`expected "Key = Value", got "${line}"`, n);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (section === 'none') throw lineError(`"${key}" outside of a section`, n);
    try {
      if (section === 'interface') applyKey(INTERFACE_KEYS, iface, 'Interface', key, value);
      else applyKey(PEER_KEYS, peers[peers.length - 1]!, 'Peer', key, value);
    } catch (e) {
      throw e instanceof ConfigError ? e : lineError(`${key}: ${(e as Error).message}`, n);
    }
  });

  if (!iface.seen) throw lineError('no [Interface] section');
  if (!iface.privateKey) throw lineError('[Interface] has no PrivateKey');
  const seenKeys = new Set<string>();
  const out: PeerConfig[] = peers.map((p) => {
    if (!p.publicKey) throw lineError('[Peer] has no PublicKey', p.line);
    const b64 = p.publicKey.toString('base64');
    if (seenKeys.has(b64)) throw lineError('the same PublicKey appears in two [Peer] sections', p.line);
    seenKeys.add(b64);
    return {
      publicKey: p.publicKey,
      presharedKey: p.presharedKey,
      allowedIps: p.allowedIps,
      endpoint: p.endpoint,
      persistentKeepalive: p.persistentKeepalive ?? 0,
    };
  });
  return {
    interface: {
      privateKey: iface.privateKey,
      listenPort: iface.listenPort,
      addresses: iface.addresses,
      mtu: iface.mtu,
      fwmark: iface.fwmark,
      dns: iface.dns,
      table: iface.table ?? 'auto',
      hooks: iface.hooks,
    },
    peers: out,
    ignored: iface.ignored,
  };
}

function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function parseIntIn(v: string, min: number, max: number, what: string): number {
  if (!/^\d+$/.test(v)) throw new Error(`${what} must be a whole number, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new Error(`${what} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Table: off, auto, main or a number (wg-quick also takes names from rt_tables; we do not). */
function parseTable(v: string): RouteTable {
  const t = v.toLowerCase();
  if (t === 'off' || t === 'auto') return t;
  if (t === 'main') return MAIN_TABLE;
  if (!/^\d+$/.test(v)) throw new Error(`must be off, auto, main or a table number, got "${v}"`);
  return parseIntIn(v, 1, MAX_TABLE, 'Table');
}

/** FwMark: decimal or 0x-hex (as wg and wg-quick take it), 32 bits. */
function parseFwmark(v: string): number {
  if (/^0x[0-9a-f]{1,8}$/i.test(v)) return Number.parseInt(v.slice(2), 16);
  return parseIntIn(v, 0, 0xffffffff, 'FwMark');
}

function parsePort(v: string, allowZero: boolean): number {
  return parseIntIn(v, allowZero ? 0 : 1, 65535, 'port');
}

/** "10.0.0.1/24" or a bare address (→ /32 or /128), kept as a host address. */
export function parseHostCidr(s: string): string {
  const [addr, bits, extra] = s.split('/');
  if (extra !== undefined || !addr) throw new Error(`"${s}" is not an address/prefix`);
  const ip = parseAddress(addr);
  const max = ip.family === 4 ? 32 : 128;
  const len = bits === undefined ? max : parseIntIn(bits, 0, max, 'prefix length');
  return `${addr}/${len}`;
}

/** "host:port", "1.2.3.4:port" or "[v6]:port"; the host is resolved later (it may be a name). */
function parseEndpointHost(s: string): HostPort {
  const hp = parseHostPort(s);
  if (!hp || hp.host === '') throw new Error(`"${s}" is not host:port (use [addr]:port for IPv6)`);
  parsePort(String(hp.port), false);
  return hp;
}
