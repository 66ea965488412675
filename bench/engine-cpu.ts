// Single-core figures of the pure engine, in process: complete handshakes per second and
// transport packets (1420 B) sealed and opened per second.
import { PrivateKey } from '../agent/wireguard/crypto.js';
import { Keypair, paddedLength } from '../agent/wireguard/keypair.js';
import { consumeInitiation, consumeResponse, createInitiation, createResponse, peerSecrets } from '../agent/wireguard/noise.js';
import { tai64n } from '../agent/wireguard/tai64n.js';
import { decodeTransportHeader } from '../agent/wireguard/messages.js';

function rate(seconds: number, body: () => void): number {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 16; i++) body();
    n += 16;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Full Noise IKpsk2 exchanges (both sides' work) per second. */
export function handshakesPerSecond(seconds = 2): number {
  const a = PrivateKey.generate();
  const b = PrivateKey.generate();
  const ab = peerSecrets(a, b.publicKey);
  const ba = peerSecrets(b, a.publicKey);
  return rate(seconds, () => {
    const init = createInitiation(a, ab, 1, tai64n(Date.now()))!;
    const got = consumeInitiation(b, init.message, () => ba)!;
    const resp = createResponse(ba, got.consumed, 2)!;
    consumeResponse(a, ab, init.state, resp.message)!;
  });
}

/** 1420-byte packets sealed, and opened, per second on one core. */
export function transportPacketsPerSecond(seconds = 2): { seal: number; open: number } {
  const keys = { send: Buffer.alloc(32, 1), receive: Buffer.alloc(32, 1) };
  const tx = new Keypair(keys, true, 1, 2, 0);
  const rx = new Keypair({ send: keys.receive, receive: keys.send }, false, 2, 1, 0);
  const packet = Buffer.alloc(1420, 7);
  const len = paddedLength(packet.length, 1420);
  const seal = rate(seconds, () => void tx.seal(packet, len));
  const msg = tx.seal(packet, len);
  const counter = decodeTransportHeader(msg)!.counter;
  const open = rate(seconds, () => void rx.open(msg, counter));
  return { seal, open };
}
