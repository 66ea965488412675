// `wgp2p join --hub`: this machine forwards room traffic between members, the seed article's
// classic bounce server. Packets from one member arrive decrypted on our TUN device and the
// kernel routes them back into it toward the other member, so the kernel must forward; it must
// not answer with ICMP redirects either (the "better next hop" is the same interface).
import { readFileSync, writeFileSync } from 'node:fs';

function set(path: string, value: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === value) return;
    writeFileSync(path, value);
  } catch (e) {
    throw new Error(`--hub needs IPv4 forwarding: cannot set ${path} to ${value} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function enableHubForwarding(ifname: string): void {
  set('/proc/sys/net/ipv4/ip_forward', '1');
  set(`/proc/sys/net/ipv4/conf/${ifname}/send_redirects`, '0');
}
