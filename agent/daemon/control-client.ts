// Talks to a running daemon's control socket (used by `wgp2p status` and friends).
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { CONTROL_DIR, controlSocketPath } from './control-socket.js';

/** The interface to talk to: the one given, or the only one running. */
export function pickInterface(given: string | undefined, dir = CONTROL_DIR): string {
  if (given) return given;
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.sock')).map((f) => f.slice(0, -5));
  } catch {
    /* no daemon has run */
  }
  if (names.length === 1) return names[0]!;
  if (names.length === 0) throw new Error(`no wgp2p daemon is running (nothing in ${dir})`);
  throw new Error(`several wgp2p interfaces run (${names.join(', ')}): choose one with --interface`);
}

export function controlRequest(ifname: string, request: Record<string, unknown>, timeoutMs = 5000, dir = CONTROL_DIR): Promise<unknown> {
  const path = controlSocketPath(ifname, dir);
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(request) + '\n'));
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        const a = JSON.parse(buf.slice(0, nl)) as { ok: boolean; result?: unknown; error?: string };
        if (a.ok) resolve(a.result);
        else reject(new Error(a.error ?? 'request failed'));
      } catch {
        reject(new Error(`garbled answer from ${path}`));
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? `no wgp2p daemon runs interface ${ifname} (${path})` : `${path}: ${e.message}`));
    });
  });
}
