// The start most join tests share: a NAT lab, a signal server on its internet and one room on
// that server. Agents started through it join the room and stop when the test ends.
import { NatLab, type NatLabOptions } from './nat-lab.js';
import { firstPing, startJoinAgent, startSignalServer, type JoinAgent, type JoinAgentOptions, type SignalServerHandle } from './join-agent.js';
import type { Netns } from './netns.js';
import type { TestLike } from './root.js';

/** The signal server's public address. */
export const SERVER_IP = '203.0.113.10';

export interface RoomLabOptions extends NatLabOptions {
  room: string;
  secret: string;
  /** Extra `wgp2p server` arguments (e.g. --relay, --no-ws-relay, other STUN ports). */
  serverArgs?: string[];
}

/** One room on the lab's server. */
export interface Room {
  /** What every member is started with: room, server URL and secret. */
  base: { room: string; server: string; secret: string };
  /** Starts a member of the room in `ns`; it stops when the test ends. */
  join(ns: Netns, o: Omit<JoinAgentOptions, 'room' | 'server' | 'secret'>): Promise<JoinAgent>;
}

export interface RoomLab extends Room {
  lab: NatLab;
  /** The server's host, on the internet at SERVER_IP. */
  srv: Netns;
  server: SignalServerHandle;
  /**
   * Another room on the same server with the same secret, for cases that each want a fresh one;
   * its members stop when `owner` (a sub-test; by default the lab's test) ends.
   */
  otherRoom(room: string, owner?: TestLike): Room;
}

export async function createRoomLab(t: TestLike, o: RoomLabOptions): Promise<RoomLab> {
  const lab = await NatLab.create(t, { prefix: o.prefix, ...(o.persistent !== undefined && { persistent: o.persistent }) });
  const srv = await lab.publicHost('srv', SERVER_IP);
  const server = await startSignalServer(srv, SERVER_IP, 'server', o.serverArgs);
  const otherRoom = (room: string, owner: TestLike = t): Room => {
    const base = { room, server: server.url, secret: o.secret };
    const join = async (ns: Netns, a: Omit<JoinAgentOptions, 'room' | 'server' | 'secret'>): Promise<JoinAgent> => {
      const agent = await startJoinAgent(ns, { ...base, ...a });
      owner.teardown(() => agent.stop());
      return agent;
    };
    return { base, join };
  };
  return { lab, srv, server, ...otherRoom(o.room), otherRoom };
}

export interface AliceAndBob {
  alice: JoinAgent;
  aliceAddress: string;
  bob: JoinAgent;
  bobAddress: string;
}

/**
 * alice in `aliceNs`, then bob in `bobNs` (interfaces `${tag}a0` and `${tag}b0`), members of
 * `room`; resolves once a ping from bob's namespace to alice is answered (within 10 s).
 */
export async function aliceAndBob(room: Room, aliceNs: Netns, bobNs: Netns, tag: string): Promise<AliceAndBob> {
  const alice = await room.join(aliceNs, { name: 'alice', ifname: `${tag}a0` });
  const aliceAddress = (await alice.status()).self.address!;
  const bob = await room.join(bobNs, { name: 'bob', ifname: `${tag}b0` });
  const bobAddress = (await bob.status()).self.address!;
  await firstPing(bobNs, aliceAddress, 10_000);
  return { alice, aliceAddress, bob, bobAddress };
}
