// The UAPI control socket at /var/run/wireguard/<iface>.sock, so `wg` can drive our engine.
import type { Socket } from 'node:net';
import { UnixListener } from '../daemon/unix-listener.js';
import type { Device } from '../wireguard/device.js';
import { ERRNO_IO, ERRNO_PROTOCOL, UapiError, applySet, formatGet, type UapiHooks } from './protocol.js';

export const SOCKET_DIR = '/var/run/wireguard';
const MAX_REQUEST_BYTES = 4 << 20; // a set with ~100k allowed IPs still fits; beyond that it is abuse

export function socketPath(ifname: string, dir = SOCKET_DIR): string {
  return `${dir}/${ifname}.sock`;
}

export class UapiServer {
  private constructor(private readonly listener: UnixListener) {}

  /** Listens on the interface's socket; refuses if another live process owns it. */
  static async listen(ifname: string, device: Device, hooks: UapiHooks, dir = SOCKET_DIR): Promise<UapiServer> {
    const path = socketPath(ifname, dir);
    try {
      return new UapiServer(await UnixListener.listen(path, (sock) => serve(sock, device, hooks)));
    } catch (e) {
      if (/in use/.test((e as Error).message)) throw new Error(`${path} is in use: another WireGuard process runs an interface named ${ifname}`);
      throw e;
    }
  }

  get path(): string {
    return this.listener.path;
  }

  /** False once the socket file was deleted or replaced: the daemon should then exit. */
  stillOwned(): boolean {
    return this.listener.stillOwned();
  }

  /** Calls `lost` once the socket file is deleted or replaced (see UnixListener.onLost). */
  onLost(lost: () => void): void {
    this.listener.onLost(lost);
  }

  close(): void {
    this.listener.close();
  }
}

/** One connection: any number of get/set requests, each ended by a blank line. */
function serve(sock: Socket, device: Device, hooks: UapiHooks): void {
  // Answers go out in request order even when one waits for a rebind.
  let queue: Promise<void> = Promise.resolve();
  let buffered = '';
  let lines: string[] = [];
  let op: 'get' | 'set' | undefined;
  sock.setEncoding('utf8');
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_REQUEST_BYTES) {
      sock.end(`errno=${ERRNO_PROTOCOL}\n\n`);
      return;
    }
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (op === undefined) {
        if (line === 'get=1') op = 'get';
        else if (line === 'set=1') op = 'set';
        else {
          sock.end(`errno=${ERRNO_PROTOCOL}\n\n`);
          return;
        }
        continue;
      }
      if (line !== '') {
        lines.push(line);
        continue;
      }
      const [o, l] = [op, lines];
      queue = queue.then(async () => {
        const a = await answer(o, l, device, hooks);
        if (sock.writable) sock.write(a);
      });
      op = undefined;
      lines = [];
    }
  });
}

async function answer(op: 'get' | 'set', lines: string[], device: Device, hooks: UapiHooks): Promise<string> {
  if (op === 'get') return lines.length > 0 ? `errno=${ERRNO_PROTOCOL}\n\n` : `${formatGet(device)}errno=0\n\n`;
  try {
    const { listenPort, fwmark } = applySet(device, lines);
    if (listenPort !== undefined) await hooks.setListenPort(listenPort);
    if (fwmark !== undefined) await hooks.setFwmark(fwmark);
    return 'errno=0\n\n';
  } catch (e) {
    return `errno=${e instanceof UapiError ? e.errno : ERRNO_IO}\n\n`;
  }
}
