// Our engine for e2e tests: `wgp2p up FILE --interface IF` inside a namespace, driven and
// inspected through its UAPI socket with the real `wg` tool, exactly like wireguard-go.
import { existsSync, unlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Netns } from './netns.js';
import { waitFor, type ManagedProcess } from './process.js';
import { WG_SOCKET_DIR, publicKeyOf, wgTool, type WgTool, type WireguardGoOptions } from './wireguard-go.js';

/** The repository root (where package.json is), found from this file in source or in dist. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the project root from ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export function cliPath(): string {
  const p = join(projectRoot(), 'dist/cli/main.js');
  if (!existsSync(p)) throw new Error(`${p} is missing: run npm run build first`);
  return p;
}

export interface Wgp2pTunnelOptions extends WireguardGoOptions {
  /** Extra environment for the daemon, e.g. the test-only WGP2P_TEST_* limits. */
  env?: Record<string, string>;
  /** Extra node flags, e.g. ['--cpu-prof'] to profile the daemon. */
  nodeArgs?: string[];
  /** `FwMark` in the file (wireguard-go's helper has no such option). */
  fwmark?: number;
}

export interface Wgp2pTunnel extends WgTool {
  readonly ns: Netns;
  readonly ifname: string;
  readonly publicKey: string;
  readonly listenPort: number;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** A wg-quick file for the options (the same shape startWireguardGo takes). */
export function wgQuickText(o: WireguardGoOptions): string {
  const lines = ['[Interface]', `PrivateKey = ${o.privateKey}`, `ListenPort = ${o.listenPort}`];
  lines.push(`Address = ${(Array.isArray(o.address) ? o.address : [o.address]).join(', ')}`);
  if (o.mtu !== undefined) lines.push(`MTU = ${o.mtu}`);
  for (const p of o.peers) {
    lines.push('', '[Peer]', `PublicKey = ${p.publicKey}`);
    if (p.presharedKey) lines.push(`PresharedKey = ${p.presharedKey}`);
    if (p.allowedIps.length) lines.push(`AllowedIPs = ${p.allowedIps.join(', ')}`);
    if (p.endpoint) lines.push(`Endpoint = ${p.endpoint}`);
    if (p.persistentKeepalive) lines.push(`PersistentKeepalive = ${p.persistentKeepalive}`);
  }
  return lines.join('\n') + '\n';
}

export async function startWgp2pTunnel(ns: Netns, opts: Wgp2pTunnelOptions): Promise<Wgp2pTunnel> {
  const dir = await mkdtemp(join(tmpdir(), 'wgp2p-e2e-conf-'));
  const file = join(dir, `${opts.ifname}.conf`);
  const text = wgQuickText(opts);
  await writeFile(file, opts.fwmark === undefined ? text : text.replace('[Interface]\n', `[Interface]\nFwMark = 0x${opts.fwmark.toString(16)}\n`), { mode: 0o600 });
  const socket = join(WG_SOCKET_DIR, `${opts.ifname}.sock`);
  const proc = ns.spawn('node', ['--enable-source-maps', ...(opts.nodeArgs ?? []), cliPath(), 'up', file, '--interface', opts.ifname, '--log-level', 'debug'], {
    name: `${ns.name}.wgp2p.${opts.ifname}`,
    env: opts.env,
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await proc.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  ns.onDelete(stop, () => {
    proc.killNow();
    try {
      unlinkSync(socket);
    } catch {
      /* gone */
    }
  });
  await waitFor(() => {
    if (!proc.running) throw new Error(`wgp2p up exited early\n${proc.tail(30)}`);
    return existsSync(socket);
  }, { timeoutMs: 15_000, intervalMs: 25, what: `wgp2p socket ${socket}` });
  return {
    ns,
    ifname: opts.ifname,
    publicKey: await publicKeyOf(opts.privateKey),
    listenPort: opts.listenPort,
    process: proc,
    ...wgTool(ns, opts.ifname),
    stop,
  };
}
