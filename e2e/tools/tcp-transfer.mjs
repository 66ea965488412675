#!/usr/bin/env node
// A checksummed TCP transfer for e2e tests (plain JS so it runs with `node` inside a namespace).
//   serve PORT             accept one connection, hash everything read, print {"bytes","sha256"} at EOF
//   send HOST PORT BYTES [RATE]  send BYTES of keyed pseudo-random data (AES-CTR keystream),
//                          optionally paced to RATE bytes/s, print {"bytes","sha256"} when acknowledged
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createServer, connect } from 'node:net';

const [mode, ...args] = process.argv.slice(2);
const CHUNK = 64 * 1024;

if (mode === 'serve') {
  const port = Number(args[0]);
  const server = createServer((sock) => {
    const h = createHash('sha256');
    let bytes = 0;
    sock.on('data', (d) => {
      h.update(d);
      bytes += d.length;
    });
    sock.on('end', () => {
      const result = JSON.stringify({ bytes, sha256: h.digest('hex') });
      // Answer the sender only after every byte was read, so its success means delivery.
      sock.end(result + '\n');
      process.stdout.write(result + '\n');
      server.close();
    });
    sock.on('error', (e) => {
      process.stderr.write(`serve: ${e.message}\n`);
      process.exit(1);
    });
  });
  server.listen(port, () => process.stdout.write(`listening ${port}\n`));
} else if (mode === 'send') {
  const [host, port, total, rate] = [args[0], Number(args[1]), Number(args[2]), args[3] ? Number(args[3]) : 0];
  const keystream = createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16));
  const zeros = Buffer.alloc(CHUNK);
  const h = createHash('sha256');
  const started = Date.now();
  let sent = 0;
  const sock = connect({ host, port }, () => pump());
  function pump() {
    while (sent < total) {
      if (rate > 0 && sent > ((Date.now() - started) / 1000) * rate) {
        setTimeout(pump, 5);
        return;
      }
      const n = Math.min(CHUNK, total - sent);
      const chunk = keystream.update(zeros.subarray(0, n));
      h.update(chunk);
      sent += n;
      if (!sock.write(chunk)) {
        sock.once('drain', pump);
        return;
      }
    }
    sock.end();
  }
  let reply = '';
  sock.on('data', (d) => (reply += d));
  sock.on('end', () => {
    const mine = { bytes: sent, sha256: h.digest('hex'), seconds: (Date.now() - started) / 1000 };
    process.stdout.write(JSON.stringify({ sent: mine, received: JSON.parse(reply || 'null') }) + '\n');
  });
  sock.on('error', (e) => {
    process.stderr.write(`send: ${e.message}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write('usage: tcp-transfer.mjs serve PORT | send HOST PORT BYTES [RATE]\n');
  process.exit(2);
}
