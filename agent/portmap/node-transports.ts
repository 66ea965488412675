// The real transports: dgram sockets and node:http with hard size and time limits.
import { createSocket, type Socket } from 'node:dgram';
import { request as httpRequest } from 'node:http';
import type { HttpRequest, HttpResponse, HttpTransport, Remote, UdpEndpoint, UdpTransport } from './types.js';

/** A throwaway port for learning the local address (connect() on UDP sends nothing). */
const DISCARD_PORT = 9;

function wrap(socket: Socket): UdpEndpoint {
  let handler: (data: Uint8Array, from: Remote) => void = () => undefined;
  socket.on('message', (msg, rinfo) => handler(msg, { address: rinfo.address, port: rinfo.port }));
  // Errors (ICMP unreachable on some kernels, EPERM) must not crash the agent: the exchange
  // times out instead.
  socket.on('error', () => undefined);
  return {
    send: (data, port, address) => socket.send(data, port, address),
    onMessage: (h) => { handler = h; },
    close: () => { try { socket.close(); } catch { /* already closed */ } },
  };
}

export const nodeUdpTransport: UdpTransport = {
  open(opts = {}) {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: 'udp4' });
      socket.once('error', reject);
      socket.bind(opts.localPort ?? 0, () => {
        socket.off('error', reject);
        resolve(wrap(socket));
      });
    });
  },
  localAddressToward(address) {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: 'udp4' });
      socket.once('error', (err) => { socket.close(); reject(err); });
      socket.connect(DISCARD_PORT, address, () => {
        const local = socket.address().address;
        socket.close();
        resolve(local);
      });
    });
  },
};

export const nodeHttpTransport: HttpTransport = {
  request(req: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
      const headers: Record<string, string | number> = { ...req.headers, Connection: 'close' };
      if (body) headers['Content-Length'] = body.length;
      const r = httpRequest(req.url, { method: req.method, headers, timeout: req.timeoutMs, maxHeaderSize: 8192 }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > req.maxBytes) r.destroy(new Error(`response over ${req.maxBytes} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => { clearTimeout(deadline); resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }); });
        res.on('error', reject);
      });
      // `timeout` only watches idleness; a slow drip must end too.
      const deadline = setTimeout(() => r.destroy(new Error(`no complete answer in ${req.timeoutMs} ms`)), req.timeoutMs);
      r.on('error', (err) => { clearTimeout(deadline); reject(err); });
      r.on('timeout', () => r.destroy(new Error(`idle for ${req.timeoutMs} ms`)));
      r.end(body);
    });
  },
};
