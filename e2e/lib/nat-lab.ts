// A lab of network namespaces with NAT routers of several kinds, built by name. This module is
// the one source of truth for the topology; netns-scripts/nat-lab.sh drives it by hand (through
// nat-lab-cli.ts) and netns-scripts/NAT-LAB.md describes it with the measured behaviour.
//
//   const lab = await NatLab.create(t, { prefix: 'jl' });      // every name starts with "jl-"
//   const srv = await lab.publicHost('srv', '203.0.113.10');   // a Netns directly on the internet
//   const a = await lab.site('a', 'port-restricted');          // a.router, a.hosts[0], a.wanAddress
//   const b = await lab.site('b', 'cgnat');                    // home NAT behind the lab's carrier NAT
//   const c = await lab.site('c', 'cgnat', { carrier: await lab.carrier('isp', 'port-restricted') });
//   await lab.setNatKind(a, 'symmetric');                      // new flows only; old ones keep theirs
//   await lab.flushConntrack(a);                               // forget all of a's mappings
//   (teardown is registered on t; lab.destroy() also works)
//
// Topology, for prefix P and the n-th site / c-th carrier created:
//
//   P-net      the internet: bridge br0 = 203.0.113.1/24 and 198.51.100.1/24 (it routes between them)
//   P-NAME     public host: eth0 = the address given, default route via the .1 of its subnet
//   P-NAME-r   site router: wan = 203.0.113.(100+n) on br0, bridge lan = 10.n.0.1/24, nft table natlab
//   P-NAME-hK  site host K: eth0 = 10.n.0.(1+K), default route via 10.n.0.1
//   P-NAME-r   carrier (CGNAT) router: wan = 203.0.113.(200+c), bridge lan = 100.64.c.1/24; a home
//              router behind it has wan = 100.64.c.(1+k) instead of a public address
//
// Site kinds: `public` (one host on the internet at 203.0.113.(100+n), no router), each NatKind
// of nat-rules.ts (one host unless opts.hosts), `two-behind-one` (port-restricted with two
// hosts; no hairpinning: a LAN host sending to the router's WAN address reaches the router
// itself, where nothing listens), and `cgnat` (a port-restricted home NAT behind a carrier NAT, by
// default the lab's shared carrier `cgn`, which is symmetric: see NAT-LAB.md).
//
// Namespaces are IPv4-only (IPv6 disabled), so nothing can bypass a NAT over link-local IPv6.
// Without `t` (or with persistent: true) nothing is torn down automatically: that is the mode
// of the by-hand script, whose `down` removes every namespace named P-*.
import { Lab, Netns, addAddress, addBridge, addRoute, enableForwarding, vethPair } from './netns.js';
import { runCommand } from './process.js';
import type { TestLike } from './root.js';
import { LAN_IF, WAN_IF, applyNatKind, flushNatState, type NatKind } from './nat-rules.js';

export type SiteKind = NatKind | 'public' | 'two-behind-one' | 'cgnat';
export const SITE_KINDS: readonly SiteKind[] = ['public', 'full-cone', 'restricted-cone', 'port-restricted', 'symmetric', 'udp-blocked', 'two-behind-one', 'cgnat'];

const INTERNET_BRIDGE = 'br0';
// 100.128.0.0/24 is not reserved (miniupnpd refuses to map on a reserved WAN address, see
// miniupnpd.ts); it exists only on the lab's bridge, which has no route to the root namespace.
const GATEWAYS = { '203.0.113': '203.0.113.1', '198.51.100': '198.51.100.1', '100.128.0': '100.128.0.1' } as const;
const DEFAULT_CARRIER = 'cgn';

/** A NAT router namespace: a site's router or a carrier. */
export interface Router {
  readonly ns: Netns;
  /** Its own WAN address (for a home router behind a carrier, a 100.64 address). */
  readonly wanAddress: string;
  /** Its address on its LAN bridge, the gateway of what sits behind it. */
  readonly lanAddress: string;
  natKind: NatKind;
}

export interface Carrier extends Router {
  readonly name: string;
  readonly publicAddress: string;
}

export interface Site {
  readonly name: string;
  readonly kind: SiteKind;
  /** The router namespace; undefined for a `public` site. */
  readonly router: Netns | undefined;
  readonly hosts: readonly Netns[];
  /** hosts[i]'s address (LAN address, or the public address of a `public` site). */
  readonly hostAddresses: readonly string[];
  /** The address the internet sees this site's traffic come from (a carrier's for `cgnat`). */
  readonly wanAddress: string;
  /** The router's own WAN address: wanAddress, or the 100.64 address for `cgnat`. */
  readonly routerWanAddress: string | undefined;
  readonly carrier: Carrier | undefined;
  /** The router's current NAT kind (undefined for `public`). */
  readonly natKind: NatKind | undefined;
}

export interface NatLabOptions {
  /** Start of every namespace name: a letter then up to 5 letters/digits. */
  prefix: string;
  /** Leave everything up when the process ends (the by-hand script). Default: !t. */
  persistent?: boolean;
}

export interface SiteOptions {
  /** Hosts on the LAN (default 1; 2 for two-behind-one; exactly 1 for public). */
  hosts?: number;
  /** The public address (default 203.0.113.(100+n)); not for cgnat. */
  wanAddress?: string;
  /** cgnat: the carrier to sit behind (default: the lab's shared carrier `cgn`, created on first use). */
  carrier?: Carrier;
  /** cgnat: the home router's kind (default port-restricted). */
  homeKind?: NatKind;
}

const NAME_RE = /^[a-z][a-z0-9]{0,9}$/;
const PREFIX_RE = /^[a-z][a-z0-9]{0,5}$/;

export class NatLab {
  readonly prefix: string;
  readonly internet: Netns;
  /** The underlying Lab (logs, processes); undefined when persistent. */
  readonly lab: Lab | undefined;
  readonly sites = new Map<string, Site>();
  readonly carriers = new Map<string, Carrier>();
  readonly publicHosts = new Map<string, Netns>();
  #newNs: (name: string) => Promise<Netns>;
  #siteCount = 0;
  #carrierCount = 0;
  #routers = new Map<Netns, Router>();

  private constructor(prefix: string, internet: Netns, lab: Lab | undefined, newNs: (name: string) => Promise<Netns>) {
    this.prefix = prefix;
    this.internet = internet;
    this.lab = lab;
    this.#newNs = newNs;
  }

  /** Removes what an earlier lab of this prefix left behind, then builds the internet. */
  static async create(t: TestLike | undefined, opts: NatLabOptions): Promise<NatLab> {
    checkName(opts.prefix, PREFIX_RE, 'prefix');
    await NatLab.down(opts.prefix);
    const persistent = opts.persistent ?? t === undefined;
    const lab = persistent ? undefined : await Lab.create(t, { name: `nat-lab-${opts.prefix}` });
    const newNs = async (name: string): Promise<Netns> => {
      const ns = lab ? await lab.netns(name) : await Netns.create(name);
      await sysctl(ns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      return ns;
    };
    const internet = await newNs(`${opts.prefix}-net`);
    await addBridge(internet, INTERNET_BRIDGE);
    for (const gw of Object.values(GATEWAYS)) await addAddress(internet, INTERNET_BRIDGE, `${gw}/24`);
    await enableForwarding(internet);
    // Both subnets share br0: without this, hosts of 198.51.100.0/24 would be told by ICMP
    // redirects to talk to 203.0.113.0/24 directly instead of through the router.
    await sysctl(internet, ['net.ipv4.conf.all.send_redirects=0', `net.ipv4.conf.${INTERNET_BRIDGE}.send_redirects=0`]);
    return new NatLab(opts.prefix, internet, lab, newNs);
  }

  /** Namespaces whose names start with `PREFIX-`. */
  static async namespaces(prefix: string): Promise<string[]> {
    checkName(prefix, PREFIX_RE, 'prefix');
    const r = await runCommand('ip', ['netns', 'list']);
    return r.stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${prefix}-`)).sort();
  }

  /** Deletes every namespace of the prefix (and the processes inside). Idempotent. */
  static async down(prefix: string): Promise<string[]> {
    const names = await NatLab.namespaces(prefix);
    for (const n of names) await Netns.deleteIfExists(n);
    return names;
  }

  /** A host directly on the internet at `address` (in 203.0.113.0/24 or 198.51.100.0/24, not .1). */
  async publicHost(name: string, address: string): Promise<Netns> {
    this.#claimName(name);
    const ns = await this.#newNs(`${this.prefix}-${name}`);
    await this.#plugIntoInternet(ns, `p-${name}`, 'eth0', address);
    this.publicHosts.set(name, ns);
    return ns;
  }

  /** A carrier-grade NAT router: public WAN 203.0.113.(200+c), homes behind it on 100.64.c.0/24. */
  async carrier(name: string, kind: NatKind = 'symmetric'): Promise<Carrier> {
    this.#claimName(name);
    const c = ++this.#carrierCount;
    if (c > 54) throw new Error('nat-lab: at most 54 carriers');
    const publicAddress = `203.0.113.${200 + c}`;
    const ns = await this.#routerNs(name);
    await this.#plugIntoInternet(ns, `c-${name}`, WAN_IF, publicAddress);
    const lanAddress = `100.64.${c}.1`;
    await makeLanBridge(ns, `${lanAddress}/24`);
    await applyNatKind(ns, kind);
    const carrier: Carrier = { name, ns, wanAddress: publicAddress, publicAddress, lanAddress, natKind: kind };
    this.carriers.set(name, carrier);
    this.#routers.set(ns, carrier);
    return carrier;
  }

  /** A site of the given kind; see the file header for addresses and names. */
  async site(name: string, kind: SiteKind, opts: SiteOptions = {}): Promise<Site> {
    if (kind === 'public') return this.#publicSite(name, opts);
    const hostCount = opts.hosts ?? (kind === 'two-behind-one' ? 2 : 1);
    if (!Number.isInteger(hostCount) || hostCount < 1 || hostCount > 200) throw new Error(`nat-lab: bad host count ${hostCount}`);
    const natKind: NatKind = kind === 'two-behind-one' ? 'port-restricted' : kind === 'cgnat' ? opts.homeKind ?? 'port-restricted' : kind;
    if (kind === 'cgnat' && opts.wanAddress) throw new Error('nat-lab: a cgnat site has no public address of its own');
    this.#claimName(name);
    const carrier = kind === 'cgnat' ? opts.carrier ?? this.carriers.get(DEFAULT_CARRIER) ?? (await this.carrier(DEFAULT_CARRIER)) : undefined;
    const n = this.#nextSite();
    const ns = await this.#routerNs(name);
    let routerWan: string;
    if (carrier) {
      routerWan = await this.#plugIntoCarrier(carrier, ns, name);
    } else {
      routerWan = opts.wanAddress ?? `203.0.113.${100 + n}`;
      await this.#plugIntoInternet(ns, `s-${name}`, WAN_IF, routerWan);
    }
    const lanAddress = `10.${n}.0.1`;
    await makeLanBridge(ns, `${lanAddress}/24`);
    const hosts: Netns[] = [];
    const hostAddresses: string[] = [];
    for (let k = 1; k <= hostCount; k++) {
      const host = await this.#newNs(`${this.prefix}-${name}-h${k}`);
      const port = `${LAN_IF}${k}`;
      await vethPair(ns, port, host, 'eth0');
      await ns.ip(['link', 'set', port, 'master', LAN_IF]);
      const addr = `10.${n}.0.${1 + k}`;
      await addAddress(host, 'eth0', `${addr}/24`);
      await addRoute(host, 'default', lanAddress);
      hosts.push(host);
      hostAddresses.push(addr);
    }
    await applyNatKind(ns, natKind);
    const router: Router = { ns, wanAddress: routerWan, lanAddress, natKind };
    this.#routers.set(ns, router);
    const site: Site = {
      name,
      kind,
      router: ns,
      hosts,
      hostAddresses,
      wanAddress: carrier ? carrier.publicAddress : routerWan,
      routerWanAddress: routerWan,
      carrier,
      get natKind() { return router.natKind; },
    };
    this.sites.set(name, site);
    return site;
  }

  /**
   * Switches a router's NAT kind in place. Flows already in conntrack keep the mapping they
   * had (as on a real router whose rules change) unless opts.flush also forgets them.
   */
  async setNatKind(target: Site | Carrier, kind: NatKind, opts: { flush?: boolean } = {}): Promise<void> {
    const router = this.#router(target);
    await applyNatKind(router.ns, kind);
    router.natKind = kind;
    if (opts.flush) await flushNatState(router.ns);
  }

  /** Forgets all mappings and pinholes of the site's router (not its carrier's: pass the carrier for that). */
  async flushConntrack(target: Site | Carrier): Promise<void> {
    await flushNatState(this.#router(target).ns);
  }

  /** Deletes everything (the Lab's teardown does this for a test lab). */
  async destroy(): Promise<void> {
    if (this.lab) await this.lab.destroy();
    else await NatLab.down(this.prefix);
  }

  #router(target: Site | Carrier): Router {
    const ns = 'router' in target ? target.router : target.ns;
    const router = ns && this.#routers.get(ns);
    if (!router) throw new Error(`nat-lab: ${target.name} has no router`);
    return router;
  }

  async #publicSite(name: string, opts: SiteOptions): Promise<Site> {
    if ((opts.hosts ?? 1) !== 1 || opts.carrier) throw new Error('nat-lab: a public site is exactly one host and has no carrier');
    this.#claimName(name);
    const address = opts.wanAddress ?? `203.0.113.${100 + this.#nextSite()}`;
    const host = await this.#newNs(`${this.prefix}-${name}-h1`);
    await this.#plugIntoInternet(host, `s-${name}`, 'eth0', address);
    const site: Site = {
      name, kind: 'public', router: undefined, hosts: [host], hostAddresses: [address],
      wanAddress: address, routerWanAddress: undefined, carrier: undefined, natKind: undefined,
    };
    this.sites.set(name, site);
    return site;
  }

  async #routerNs(name: string): Promise<Netns> {
    const ns = await this.#newNs(`${this.prefix}-${name}-r`);
    await enableForwarding(ns);
    // Loose or strict reverse-path filtering has no place on a NAT box with one default route.
    await sysctl(ns, ['net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
    return ns;
  }

  /** Connects `ns` (interface `ifname`) to the internet bridge at `address`, default route via the bridge. */
  async #plugIntoInternet(ns: Netns, port: string, ifname: string, address: string): Promise<void> {
    const gw = gatewayFor(address);
    await vethPair(this.internet, port, ns, ifname);
    await this.internet.ip(['link', 'set', port, 'master', INTERNET_BRIDGE]);
    await addAddress(ns, ifname, `${address}/24`);
    await addRoute(ns, 'default', gw);
  }

  /** Connects a home router's wan to the carrier's LAN bridge; resolves its 100.64 address. */
  async #plugIntoCarrier(carrier: Carrier, ns: Netns, name: string): Promise<string> {
    const port = `h-${name}`;
    await vethPair(carrier.ns, port, ns, WAN_IF);
    await carrier.ns.ip(['link', 'set', port, 'master', LAN_IF]);
    const used = [...this.sites.values()].filter((s) => s.carrier === carrier).length;
    const base = carrier.lanAddress.split('.').slice(0, 3).join('.');
    const address = `${base}.${2 + used}`;
    await addAddress(ns, WAN_IF, `${address}/24`);
    await addRoute(ns, 'default', carrier.lanAddress);
    return address;
  }

  #claimName(name: string): void {
    checkName(name, NAME_RE, 'name');
    if (name === 'net' || this.sites.has(name) || this.carriers.has(name) || this.publicHosts.has(name)) {
      throw new Error(`nat-lab: the name ${name} is taken`);
    }
  }

  #nextSite(): number {
    const n = ++this.#siteCount;
    if (n > 99) throw new Error('nat-lab: at most 99 sites');
    return n;
  }
}

async function makeLanBridge(router: Netns, cidr: string): Promise<void> {
  await addBridge(router, LAN_IF);
  // A home LAN lets its hosts talk to each other. Where br_netfilter is loaded (Docker hosts, some
  // CI machines), bridged LAN traffic would go through the router's forward chain, which only
  // accepts lan -> wan. The setting is per namespace and absent without br_netfilter.
  await router.exec('sysctl', ['-q', '-w', 'net.bridge.bridge-nf-call-iptables=0'], { allowFail: true });
  await addAddress(router, LAN_IF, cidr);
}

async function sysctl(ns: Netns, settings: string[]): Promise<void> {
  await ns.exec('sysctl', ['-q', '-w', ...settings]);
}

function gatewayFor(address: string): string {
  const net = address.split('.').slice(0, 3).join('.');
  const gw = (GATEWAYS as Record<string, string>)[net];
  if (!gw || address === gw || !/^\d+\.\d+\.\d+\.\d+$/.test(address)) {
    throw new Error(`nat-lab: ${address} is not a host address in 203.0.113.0/24, 198.51.100.0/24 or 100.128.0.0/24`);
  }
  return gw;
}

function checkName(name: string, re: RegExp, what: string): void {
  if (!re.test(name)) throw new Error(`nat-lab: bad ${what} ${JSON.stringify(name)} (want ${re.source})`);
}
