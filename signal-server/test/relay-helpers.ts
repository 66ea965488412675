// Test helpers for the packet relay: room members with their welcome, a UDP socket speaking the
// relay wire format, and fake WireGuard messages. Not a test file itself.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import type { WelcomeMessage } from '../../shared/signal/index.js';
import { decodeRelayPacket, encodeBind, encodeData, RELAY_BOUND, RELAY_CHALLENGE, RELAY_TXID_BYTES, type RelayPacket } from '../../shared/wire/relay.js';
import type { Test } from 'tap';
import type { SignalServerHandle, StartOptions } from '../index.js';
import { blob, roomId, sleep, startTestServer, TestClient } from './helpers.js';
import { Inbox } from './inbox.js';

/** A WireGuard transport message's shape: type 4, three zero bytes, 32 + 16k bytes. */
export function wgTransport(k = 4): Buffer {
  const p = randomBytes(32 + 16 * k);
  p[0] = 4;
  p[1] = p[2] = p[3] = 0;
  return p;
}

export interface Member {
  client: TestClient;
  id: string;
  welcome: WelcomeMessage;
  token: Buffer;
}

/** Connects, says hello and joins `rooms`. */
export async function member(server: SignalServerHandle, ...rooms: string[]): Promise<Member> {
  const client = await TestClient.join(server.url);
  const welcome = client.ofType('welcome')[0]!;
  for (const room of rooms) {
    client.send({ type: 'join', room, announce: blob() });
    await client.next((m) => m.type === 'members' && m.room === room);
  }
  return { client, id: welcome.id, welcome, token: Buffer.from(welcome.relayToken ?? '', 'base64url') };
}

/** A test server started with `options` and two members of one fresh room; all closed when `t` ends. */
export async function serverWithPair(t: Test, options: StartOptions): Promise<{ server: SignalServerHandle; room: string; a: Member; b: Member }> {
  const server = await startTestServer(options);
  const room = roomId();
  const a = await member(server, room);
  const b = await member(server, room);
  t.teardown(async () => {
    a.client.close();
    b.client.close();
    await server.close();
  });
  return { server, room, a, b };
}

/** A UDP socket talking to the server's relay, collecting what comes back. */
export class UdpPeer {
  private readonly inbox = new Inbox<RelayPacket>('a relay datagram');
  readonly received: RelayPacket[] = this.inbox.items;
  readonly junk: Buffer[] = [];

  private constructor(
    readonly socket: dgram.Socket,
    readonly relayPort: number,
  ) {
    socket.on('message', (msg) => {
      const p = decodeRelayPacket(msg);
      if (!p) {
        this.junk.push(msg);
        return;
      }
      this.inbox.push(p);
    });
  }

  /** A socket on `host` (any 127/8 address on Linux's loopback: another member's public address). */
  static async open(relayPort: number, host = '127.0.0.1'): Promise<UdpPeer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, host, resolve));
    return new UdpPeer(socket, relayPort);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: Buffer): void {
    this.socket.send(data, this.relayPort, '127.0.0.1');
  }

  sendData(to: string, payload: Buffer): void {
    this.send(encodeData(to, payload));
  }

  /**
   * BIND with `id` and `auth` as an agent does (answering the relay's CHALLENGE for a new address
   * with its cookie); resolves with whether BOUND came back within `timeoutMs`.
   */
  async bind(id: string, auth: Buffer, timeoutMs = 2000): Promise<boolean> {
    const txid = randomBytes(RELAY_TXID_BYTES);
    this.send(encodeBind(txid, id, auth));
    try {
      const reply = await this.next((p) => (p.type === RELAY_BOUND || p.type === RELAY_CHALLENGE) && p.txid.equals(txid), timeoutMs);
      if (reply.type === RELAY_CHALLENGE) {
        this.send(encodeBind(txid, id, auth, reply.cookie));
        await this.next((p) => p.type === RELAY_BOUND && p.txid.equals(txid), timeoutMs);
      }
      return true;
    } catch {
      return false;
    }
  }

  next(match: (p: RelayPacket) => boolean, timeoutMs = 5000): Promise<RelayPacket> {
    return this.inbox.next(match, timeoutMs);
  }

  /** How many received datagrams match, after waiting `ms` for stragglers. */
  async countAfter(ms: number, match: (p: RelayPacket) => boolean): Promise<number> {
    await sleep(ms);
    return this.received.filter(match).length;
  }

  close(): void {
    this.socket.close();
  }
}
