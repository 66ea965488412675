// Child process of the signal-server bench: holds a share of the agents, each a real WebSocket
// client that says hello and joins a room. Every room lives wholly in one such process, so the
// fan-out latency of an announcement is timed on a single clock: from the update a member sends
// to each other member receiving the matching member-update.
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { joinPublicKey, roomIdForKey, signJoin } from '../shared/signal/join-proof.js';
import type { ConnectCommand, FromClients, ProbeCommand, ToClients } from './signal-ipc.js';

interface Agent {
  ws: WebSocket;
  id: string;
  /** welcome's nonce, which join proofs sign. */
  nonce: string;
}

interface Room {
  id: string;
  /** The room's join seed (agents derive it from the secret). */
  seed: Buffer;
  members: Agent[];
}

const send = (m: FromClients) => process.send?.(m);
const agents: Agent[] = [];
const rooms: Room[] = [];
/** Probe announcement -> when it was sent. */
const sentAt = new Map<string, number>();
let latencies: number[] = [];

function onServerFrame(data: Buffer): void {
  const now = performance.now();
  const m = JSON.parse(data.toString('utf8')) as { type: string; announce?: string };
  if (m.type !== 'member-update' || m.announce === undefined) return;
  const t0 = sentAt.get(m.announce);
  if (t0 !== undefined) latencies.push(now - t0);
}

/** Resolves with the first frame `match` accepts on `ws`. */
function frame(ws: WebSocket, match: (m: { type: string; id?: string; nonce?: string }) => boolean): Promise<{ type: string; id?: string; nonce?: string }> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer) => {
      const m = JSON.parse(data.toString('utf8')) as { type: string; id?: string; nonce?: string };
      if (m.type === 'error') fail(new Error(`server error: ${data.toString('utf8')}`));
      else if (match(m)) {
        ws.off('message', onMessage);
        ws.off('close', onClose);
        resolve(m);
      }
    };
    const onClose = () => fail(new Error('connection closed'));
    const fail = (err: Error) => {
      ws.off('message', onMessage);
      ws.off('close', onClose);
      reject(err);
    };
    ws.on('message', onMessage);
    ws.once('close', onClose);
  });
}

async function connectAgent(url: string, localAddress: string): Promise<Agent> {
  const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.on('error', () => undefined);
  ws.send(JSON.stringify({ type: 'hello', v: 2 }));
  const welcome = await frame(ws, (m) => m.type === 'welcome');
  return { ws, id: welcome.id!, nonce: welcome.nonce! };
}

/** Runs `task` for 0..n-1 with at most `limit` in flight. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
}

async function connect(cmd: ConnectCommand): Promise<void> {
  await pool(cmd.agents, cmd.concurrency, async () => {
    agents.push(await connectAgent(cmd.url, cmd.localAddress));
  });
  for (let i = 0; i < agents.length; i += cmd.roomSize) {
    const seed = randomBytes(32);
    rooms.push({ id: roomIdForKey(joinPublicKey(seed)), seed, members: agents.slice(i, i + cmd.roomSize) });
  }
  await pool(rooms.length, cmd.concurrency, async (r) => {
    const room = rooms[r]!;
    for (const a of room.members) {
      a.ws.send(JSON.stringify({ type: 'join', room: room.id, announce: randomBytes(96).toString('base64'), ...signJoin(room.id, room.seed, a.nonce) }));
      await frame(a.ws, (m) => m.type === 'members');
    }
  });
  for (const a of agents) a.ws.on('message', onServerFrame);
  send({ type: 'connected', agents: agents.length });
}

async function probe(cmd: ProbeCommand): Promise<void> {
  latencies = [];
  let expected = 0;
  for (let p = 0; p < cmd.probes; p++) {
    const room = rooms[p % rooms.length]!;
    const sender = room.members[Math.floor(p / rooms.length) % room.members.length]!;
    const announce = randomBytes(12).toString('base64');
    sentAt.set(announce, performance.now());
    sender.ws.send(JSON.stringify({ type: 'update', room: room.id, announce }));
    expected += room.members.length - 1;
    await new Promise((r) => setTimeout(r, cmd.intervalMs));
  }
  // Let the last deliveries land.
  const end = performance.now() + 2000;
  while (latencies.length < expected && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
  send({ type: 'probed', latencies, expected });
}

process.on('message', (m: ToClients) => {
  const run = m.cmd === 'connect' ? connect(m) : m.cmd === 'probe' ? probe(m) : Promise.resolve(process.exit(0));
  run.catch((err: unknown) => send({ type: 'failed', error: err instanceof Error ? err.message : String(err) }));
});
process.on('disconnect', () => process.exit(0));
