// Tells the system resolver about the room's domain. systemd-resolved (resolvectl): our address
// as the DNS server of our interface with "~DOMAIN" as its routing domain, so only room names
// come to us; the link's settings go with the interface. Otherwise (resolv-conf) /etc/resolv.conf
// gets our nameserver first and DOMAIN first in its search list, written in place (it may be a
// bind mount, as under `ip netns exec`), the old text kept in the state directory: restored when
// we stop, or on the next start after a crash.
import { existsSync } from 'node:fs';
import type { Logger } from '../../../shared/log.js';
import { HostChanges, writeFiles } from '../host-changes.js';
import { findBinary, RESOLV_CONF, run as runCommand } from '../../tun/dns-config.js';

export const DNS_CONFIG_MODES = ['auto', 'resolvectl', 'resolv-conf', 'off'] as const;
export type DnsConfigMode = (typeof DNS_CONFIG_MODES)[number];
const RESOLVED_RUNTIME_DIR = '/run/systemd/resolve';
const BACKUP_NAME = 'dns-resolv-conf';
const MARKER = '# wgp2p join';

export interface ResolverSetup {
  readonly method: 'resolvectl' | 'resolv-conf';
  /** Takes the settings back; safe to call more than once. */
  undo(): void;
}

export interface ResolverOptions {
  mode: DnsConfigMode;
  ifname: string;
  address: string;
  domain: string;
  stateDir: string;
  log: Logger;
  resolvConf?: string;
}

/**
 * auto: systemd-resolved when it runs (a per-link routing domain touches nothing else), else
 * nothing: rewriting /etc/resolv.conf is shared by every agent and network namespace without a
 * file of its own, so it is only done when asked for (--dns-config resolv-conf).
 */
export function detectResolver(): 'resolvectl' | 'off' {
  return findBinary('resolvectl') && existsSync(RESOLVED_RUNTIME_DIR) ? 'resolvectl' : 'off';
}

/** resolv.conf with our nameserver first and DOMAIN first in the (single: glibc reads the last) search line. */
export function resolvConfWithRoom(previous: string, address: string, domain: string): string {
  const lines = previous.split('\n');
  const search = lines.filter((l) => /^\s*(search|domain)\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  const rest = lines.filter((l) => !/^\s*(search|domain)\s/.test(l) && !l.startsWith(MARKER));
  const domains = [domain, ...search.filter((d) => d !== domain)];
  const body = rest.join('\n').replace(/^\n+/, '');
  return `${MARKER}: room names under ${domain}; the old text comes back when it stops\nnameserver ${address}\nsearch ${domains.join(' ')}\n${body}${body.endsWith('\n') || body === '' ? '' : '\n'}`;
}

const changes = (stateDir: string, log: Logger) => new HostChanges(stateDir, BACKUP_NAME, log);

/** Puts back a resolv.conf a crashed agent left (its backup is in `stateDir`); true if there was one. */
export function restoreLeftover(stateDir: string, log: Logger): boolean {
  return changes(stateDir, log).restoreLeftover();
}

export async function configureResolver(o: ResolverOptions): Promise<ResolverSetup | undefined> {
  if (o.mode === 'off') return undefined;
  const how = o.mode === 'auto' ? detectResolver() : o.mode;
  if (how === 'off') {
    if (o.mode === 'auto') o.log.info('no systemd-resolved: the system resolver is left alone (--dns-config resolv-conf writes /etc/resolv.conf)');
    return undefined;
  }
  if (how === 'resolvectl') {
    await runCommand('resolvectl', ['dns', o.ifname, o.address]);
    await runCommand('resolvectl', ['domain', o.ifname, `~${o.domain}`]);
    return setupUndoneOnce(how, () => void runCommand('resolvectl', ['revert', o.ifname]).catch(() => undefined));
  }
  const path = o.resolvConf ?? RESOLV_CONF;
  const backup = changes(o.stateDir, o.log);
  backup.restoreLeftover();
  const change = HostChanges.fileChange(path, (previous) => resolvConfWithRoom(previous ?? '', o.address, o.domain));
  // The backup first: a crash between the two writes still leaves a way back.
  backup.record([change]);
  writeFiles([change]);
  return setupUndoneOnce(how, () => restoreLeftover(o.stateDir, o.log));
}

/** A setup whose undo runs at most once (exit paths can call it twice). */
function setupUndoneOnce(method: ResolverSetup['method'], undo: () => void): ResolverSetup {
  let done = false;
  return {
    method,
    undo: () => {
      if (done) return;
      done = true;
      undo();
    },
  };
}
