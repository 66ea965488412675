// Child process of the signal-server bench: the real server, alone in its process so its memory
// can be measured, with limits opened up for thousands of agents on one loopback address.
// Run with --expose-gc: memory is read after a full collection, so garbage is not counted.
import type { FromHost, HostConfig, ToHost } from './signal-ipc.js';
import { startSignalServer } from '../signal-server/index.js';

const config = JSON.parse(process.argv[2] ?? '{}') as HostConfig;
const send = (m: FromHost) => process.send?.(m);
const gc = (globalThis as { gc?: () => void }).gc;

const server = await startSignalServer({
  listenHost: '127.0.0.1',
  listenPort: 0,
  stunPort: null,
  logLevel: 'warn',
  maxConnections: config.maxAgents + 1000,
  maxConnectionsPerIp: config.maxAgents + 1000,
  connectRatePerIp: 1_000_000,
  connectBurstPerIp: 1_000_000,
  addressMessageRate: 1_000_000,
  addressMessageBurst: 1_000_000,
  maxRooms: config.maxAgents,
  maxRoomsPerIp: config.maxAgents,
  maxRoomsPerSubnet: config.maxAgents,
  handshakeTimeoutMs: 60_000,
  helloTimeoutMs: 60_000,
});

process.on('message', (m: ToHost) => {
  if (m.cmd === 'mem') {
    for (let i = 0; i < 3; i++) gc?.();
    const mem = process.memoryUsage();
    const s = server.metrics();
    send({ type: 'mem', rss: mem.rss, heapUsed: mem.heapUsed, connectedAgents: s.connectedAgents, members: s.members });
  } else if (m.cmd === 'stop') {
    void server.close().then(() => process.exit(0));
  }
});
// If the bench dies, do not linger.
process.on('disconnect', () => process.exit(0));
send({ type: 'listening', port: server.http.port });
