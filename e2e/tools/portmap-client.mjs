#!/usr/bin/env node
// A PortMapper (dist/agent/portmap) run for real inside a site's namespace, with a UDP socket
// bound to the port it maps (standing in for the agent's WireGuard socket).
//   portmap-client.mjs PORT PROTOCOLS [LEASE_S] [REQUEST_PORT]   PROTOCOLS: comma list, e.g. pcp, or none (the socket alone)
// Prints JSON lines: {"event":"mapping",...} on each change, {"event":"recv","text":..,"from":..}
// for every datagram the socket gets, {"event":"stats",...} and {"event":"closed"} at the end.
// SIGUSR1 prints stats; SIGTERM deletes the mapping, prints stats and exits.
import { createSocket } from 'node:dgram';
import { PortMapper } from '../../dist/agent/portmap/port-mapper.js';

const [portText, protocolsText, leaseText, requestPortText] = process.argv.slice(2);
const port = Number(portText);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const socket = createSocket('udp4');
socket.on('message', (msg, rinfo) => out({ event: 'recv', text: msg.toString('utf8'), from: `${rinfo.address}:${rinfo.port}` }));
await new Promise((resolve) => socket.bind(port, resolve));
const mapper = new PortMapper({
  internalPort: port,
  protocols: protocolsText === 'none' ? [] : protocolsText.split(','),
  ...(leaseText ? { leaseS: Number(leaseText) } : {}),
  ...(requestPortText ? { requestPort: Number(requestPortText) } : {}),
  log: (m) => process.stderr.write(m + '\n'),
});
mapper.on('change', (m) => out({ event: 'mapping', mapping: m ?? null }));
mapper.start();
out({ event: 'started', port });
const stats = () => out({ event: 'stats', rejected: mapper.rejected, stats: mapper.stats, mapping: mapper.mapping ?? null });
process.on('SIGUSR1', stats);
await new Promise((resolve) => process.once('SIGTERM', resolve));
await mapper.close();
stats();
socket.close();
out({ event: 'closed' });
