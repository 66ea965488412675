// A deliberately dumb WebSocket client on a raw TCP socket, for behaviour the ws library will not
// produce: never answering pings, stopping reading, sending half an HTTP request.
import { randomBytes } from 'node:crypto';
import net from 'node:net';

export function connectTcp(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the server closes or resets the connection, with the time it took. */
export function whenClosed(socket: net.Socket): Promise<number> {
  const start = performance.now();
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    if (socket.destroyed) resolve(0);
    socket.once('close', () => resolve(performance.now() - start));
  });
}

export function upgradeRequest(path = '/ws'): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

/** A masked client frame (FIN set). */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  let header: Buffer;
  if (payload.length < 126) {
    header = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
  } else if (payload.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
  return Buffer.concat([header, mask, body]);
}

export const textFrame = (text: string) => clientFrame(0x1, Buffer.from(text));

/** Opens a WebSocket by hand; resolves after the 101 response, with the socket still flowing. */
export async function rawWebSocket(port: number, localAddress?: string): Promise<net.Socket> {
  const socket = await connectTcp(port, localAddress);
  socket.write(upgradeRequest());
  await new Promise<void>((resolve, reject) => {
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (head.startsWith('HTTP/1.1 101')) resolve();
      else reject(new Error(head.split('\r\n')[0]));
    };
    socket.on('data', onData);
  });
  return socket;
}
