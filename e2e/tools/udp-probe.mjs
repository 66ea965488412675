#!/usr/bin/env node
// UDP probes for the NAT lab (plain JS so it runs with `node` inside a namespace).
//   echo PORT                 answer "whoami" with "seen IP:PORT" (the sender's address as seen
//                             here); "relay IP:PORT TEXT" from loopback makes it send TEXT there
//                             from this socket
//   host PORT [IP:PORT ...]   bind PORT, ask each target "whoami" (retrying), print
//                             {"mapped":{target: "IP:PORT" | null}}; then print every datagram as
//                             {"from","text"} and obey "send IP:PORT TEXT" from anyone; exit after
//                             LIFETIME_MS (env, default 60 s)
//   send FROMPORT IP:PORT TEXT   one datagram, from FROMPORT (0: any)
import { createSocket } from 'node:dgram';

const ASK_EVERY_MS = 150;
const ASK_TIMEOUT_MS = Number(process.env.ASK_TIMEOUT_MS ?? 1500);
const LIFETIME_MS = Number(process.env.LIFETIME_MS ?? 60_000);
const [mode, ...args] = process.argv.slice(2);

function split(endpoint) {
  const i = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, i), Number(endpoint.slice(i + 1))];
}

function bind(port) {
  const sock = createSocket('udp4');
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, () => resolve(sock));
  });
}

function send(sock, endpoint, text) {
  const [ip, port] = split(endpoint);
  return new Promise((resolve) => sock.send(text, port, ip, () => resolve()));
}

if (mode === 'echo') {
  const sock = await bind(Number(args[0]));
  sock.on('message', (msg, from) => {
    const text = msg.toString();
    const who = `${from.address}:${from.port}`;
    process.stdout.write(JSON.stringify({ from: who, text }) + '\n');
    if (text === 'whoami') void send(sock, who, `seen ${who}`);
    const relay = /^relay (\S+) ([\s\S]*)$/.exec(text);
    // Only the harness (on loopback) may make a target speak; probed hosts must not.
    if (relay && from.address === '127.0.0.1') void send(sock, relay[1], relay[2]);
  });
  process.stdout.write(`listening ${args[0]}\n`);
} else if (mode === 'host') {
  const [port, ...targets] = args;
  const sock = await bind(Number(port));
  const mapped = Object.fromEntries(targets.map((t) => [t, null]));
  sock.on('message', (msg, from) => {
    const text = msg.toString();
    const who = `${from.address}:${from.port}`;
    const seen = /^seen (\S+)$/.exec(text);
    if (seen && who in mapped && mapped[who] === null) mapped[who] = seen[1];
    else process.stdout.write(JSON.stringify({ from: who, text }) + '\n');
    const cmd = /^send (\S+) ([\s\S]*)$/.exec(text);
    if (cmd) void send(sock, cmd[1], cmd[2]);
  });
  const deadline = Date.now() + ASK_TIMEOUT_MS;
  while (Date.now() < deadline && Object.values(mapped).some((m) => m === null)) {
    for (const t of targets) if (mapped[t] === null) await send(sock, t, 'whoami');
    await new Promise((r) => setTimeout(r, ASK_EVERY_MS));
  }
  process.stdout.write(JSON.stringify({ mapped }) + '\n');
  setTimeout(() => process.exit(0), LIFETIME_MS); // the bound socket keeps us up until then
} else if (mode === 'send') {
  const sock = await bind(Number(args[0]));
  await send(sock, args[1], args.slice(2).join(' '));
  sock.close();
} else {
  process.stderr.write('usage: udp-probe.mjs echo PORT | host PORT [IP:PORT ...] | send FROMPORT IP:PORT TEXT\n');
  process.exit(2);
}
