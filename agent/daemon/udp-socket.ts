// The engine's UDP socket: one dual-stack socket when the host has IPv6, IPv4-only otherwise.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { endpointFromRinfo, type Endpoint } from '../../shared/net/address.js';

export class UdpSocket {
  private constructor(
    private readonly socket: Socket,
    readonly dualStack: boolean,
  ) {}

  /** Binds to `port` (0: any). Errors say what went wrong in words a user can act on. */
  static async bind(port: number, onMessage: (data: Buffer, from: Endpoint) => void): Promise<UdpSocket> {
    try {
      return await UdpSocket.bindFamily('udp6', port, onMessage);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw portInUse(port);
      if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw e;
    }
    try {
      return await UdpSocket.bindFamily('udp4', port, onMessage);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw portInUse(port);
      throw e;
    }
  }

  private static bindFamily(type: 'udp4' | 'udp6', port: number, onMessage: (data: Buffer, from: Endpoint) => void): Promise<UdpSocket> {
    const socket = createSocket({ type, ipv6Only: false, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    return new Promise((resolve, reject) => {
      socket.once('error', (e) => {
        socket.close();
        reject(e);
      });
      socket.bind({ port, address: type === 'udp6' ? '::' : '0.0.0.0', exclusive: true }, () => {
        socket.removeAllListeners('error');
        socket.on('error', () => {
          /* ICMP errors surface here for sends to dead endpoints: not fatal for a tunnel */
        });
        socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
          onMessage(msg, endpointFromRinfo(rinfo));
        });
        resolve(new UdpSocket(socket, type === 'udp6'));
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: Buffer, to: Endpoint): void {
    const address = this.dualStack && to.family === 4 ? `::ffff:${to.address}` : to.address;
    if (!this.dualStack && to.family === 6) return; // no IPv6 on this host
    this.socket.send(data, to.port, address);
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      /* already closed */
    }
  }
}

function portInUse(port: number): Error {
  return new Error(`UDP port ${port} is already in use (another WireGuard or wgp2p running?)`);
}
