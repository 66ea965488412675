// The real DNS sockets: UDP and TCP on one address. TCP connections are few, idle ones closed
// soon: the service is for the room's resolvers, not a place to park connections.
import { createSocket } from 'node:dgram';
import { createServer, isIPv6, type Socket } from 'node:net';
import type { DnsHandlers, DnsListener, DnsPort } from './dns-port.js';

const TCP_IDLE_MS = 10_000;
const MAX_TCP_CONNECTIONS = 64;

export const dnsSockets: DnsPort = {
  listen: (address, port, handlers) => listen(address, port, handlers),
};

async function listen(address: string, port: number, handlers: DnsHandlers): Promise<DnsListener> {
  const udp = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
  udp.on('message', (data, from) => {
    const response = handlers.udp(data, from.address);
    if (response) udp.send(response, from.port, from.address);
  });
  udp.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, address, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  const connections = new Set<Socket>();
  const tcp = createServer((socket) => {
    if (connections.size >= MAX_TCP_CONNECTIONS) return socket.destroy();
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    const session = handlers.tcp(socket.remoteAddress ?? '');
    socket.on('data', (chunk: Buffer) => {
      for (const out of session.feed(chunk)) socket.write(out);
      if (session.closed) socket.end();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, address, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    udp.close();
    throw e;
  }
  tcp.on('error', () => undefined);
  return {
    close: () => {
      udp.close();
      tcp.close();
      for (const s of connections) s.destroy();
    },
  };
}
