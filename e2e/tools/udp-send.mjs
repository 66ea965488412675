#!/usr/bin/env node
// Sends datagrams for e2e hostile-input tests (plain JS so it runs with `node` in a namespace).
//   udp-send.mjs HOST PORT hex     one datagram per hex line on stdin
//   udp-send.mjs HOST PORT random N   N random datagrams of 0..200 bytes
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';

const [host, port, mode, n] = process.argv.slice(2);
const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
const datagrams =
  mode === 'random'
    ? Array.from({ length: Number(n) }, () => randomBytes(randomInt(201)))
    : (await new Promise((resolve) => {
        let text = '';
        process.stdin.on('data', (d) => (text += d)).on('end', () => resolve(text));
      }))
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => Buffer.from(l.trim(), 'hex'));
let sent = 0;
for (const d of datagrams) {
  await new Promise((resolve) => sock.send(d, Number(port), host, () => resolve()));
  sent++;
  if (sent % 50 === 0) await new Promise((r) => setTimeout(r, 1)); // do not overrun the socket buffer
}
sock.close();
process.stdout.write(`sent ${sent}\n`);
