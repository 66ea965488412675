// The daemon's own control channel at /var/run/wgp2p/<iface>.sock (the `wg` UAPI socket stays
// standard): one JSON request per line, one JSON answer per line. Bad requests get an error
// answer; a connection that sends too much is closed.
import type { Socket } from 'node:net';
import { UnixListener } from './unix-listener.js';

export const CONTROL_DIR = '/var/run/wgp2p';
const MAX_LINE = 64 * 1024;

export function controlSocketPath(ifname: string, dir = CONTROL_DIR): string {
  return `${dir}/${ifname}.sock`;
}

export type ControlHandler = (request: Record<string, unknown>) => unknown | Promise<unknown>;

export class ControlSocket {
  private constructor(private readonly listener: UnixListener) {}

  /** `handlers` maps an op name to its handler; the answer is `{ok: true, result}` or `{ok: false, error}`. */
  static async listen(ifname: string, handlers: Record<string, ControlHandler>, dir = CONTROL_DIR): Promise<ControlSocket> {
    return new ControlSocket(await UnixListener.listen(controlSocketPath(ifname, dir), (s) => serve(s, handlers)));
  }

  stillOwned(): boolean {
    return this.listener.stillOwned();
  }

  close(): void {
    this.listener.close();
  }
}

function serve(sock: Socket, handlers: Record<string, ControlHandler>): void {
  let buffered = '';
  sock.setEncoding('utf8');
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      void answer(line, handlers).then((a) => sock.writable && sock.write(JSON.stringify(a) + '\n'));
    }
    if (buffered.length > MAX_LINE) sock.end(JSON.stringify({ ok: false, error: 'request too large' }) + '\n');
  });
}

async function answer(line: string, handlers: Record<string, ControlHandler>): Promise<unknown> {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    return { ok: false, error: 'request is not JSON' };
  }
  if (typeof req !== 'object' || req === null || Array.isArray(req)) return { ok: false, error: 'request must be a JSON object' };
  const op = (req as Record<string, unknown>).op;
  const handler = typeof op === 'string' && Object.hasOwn(handlers, op) ? handlers[op] : undefined;
  if (!handler) return { ok: false, error: `unknown op ${JSON.stringify(op)}; known: ${Object.keys(handlers).join(', ')}` };
  try {
    return { ok: true, result: await handler(req as Record<string, unknown>) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}
