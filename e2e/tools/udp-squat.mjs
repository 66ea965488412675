#!/usr/bin/env node
// Takes over a NAT mapping (plain JS, runs with `node` in a namespace): binds local PORT and, from
// SIGUSR1 on, sends a datagram to HOST:DPORT every 100 ms, so the NAT gives this host's flow the
// external port another host had before a conntrack flush. Prints "ready" once bound.
//   udp-squat.mjs PORT HOST DPORT
import { createSocket } from 'node:dgram';

const [port, host, dport] = process.argv.slice(2);
const sock = createSocket('udp4');
sock.on('error', () => undefined);
sock.bind(Number(port), () => process.stdout.write('ready\n'));
process.on('SIGUSR1', () => {
  const send = () => sock.send(Buffer.from('squat'), Number(dport), host);
  send();
  setInterval(send, 100);
});
process.on('SIGTERM', () => process.exit(0));
