#!/usr/bin/env node
// An insider (it holds the room secret) on one signalling connection, announcing a fresh key
// pair again and again, each announcement validly sealed and signed: an attempt to fill every
// member's WireGuard device with peers. Members must keep at most one member per connection.
//   churn-keys.mjs URL ROOM-NAME SECRET COUNT
// Prints {"announced": N} once every announcement has been forwarded, then stays connected
// until SIGTERM (60 s at most), so the test can look at the members meanwhile.
import WebSocket from 'ws';
import { deriveRoom, roomJoinProof } from '../../dist/shared/signal/room-key.js';
import { sealAnnouncement } from '../../dist/agent/join/room/announcement.js';
import { PrivateKey } from '../../dist/agent/wireguard/crypto.js';

const [url, roomName, secret, countText] = process.argv.slice(2);
const room = deriveRoom(roomName, secret);
const count = Number(countText);
const ws = new WebSocket(url);
const waiting = new Map();
ws.on('message', (d, isBinary) => {
  if (isBinary) return; // members relaying to us over the WebSocket: not our business
  const f = JSON.parse(String(d));
  waiting.get(f.type)?.(f);
});
const next = (type) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} from the server`)), 5000);
    waiting.set(type, (f) => {
      clearTimeout(timer);
      waiting.delete(type);
      resolve(f);
    });
  });
await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
const welcomed = next('welcome');
ws.send(JSON.stringify({ type: 'hello', v: 2 }));
const welcome = await welcomed;
const announce = () => {
  const key = PrivateKey.generate();
  const body = { publicKey: key.publicKey, memberId: welcome.id, name: 'mallory', address: '10.147.6.6', candidates: [], nat: { mapping: 'unknown', filtering: 'unknown' } };
  return sealAnnouncement(room, body, key.raw);
};
const joined = next('members');
ws.send(JSON.stringify({ type: 'join', room: room.roomId, announce: announce(), ...roomJoinProof(room, welcome.nonce) }));
await joined;
for (let i = 1; i < count; i++) {
  ws.send(JSON.stringify({ type: 'update', room: room.roomId, announce: announce() }));
  await new Promise((r) => setTimeout(r, 20)); // within the server's frame rate
}
const ponged = next('pong');
ws.send(JSON.stringify({ type: 'ping', ref: 'done' }));
await ponged;
process.stdout.write(JSON.stringify({ announced: count }) + '\n');
const leave = () => {
  ws.close();
  process.exit(0);
};
process.on('SIGTERM', leave);
setTimeout(leave, 60_000); // bounded even if nobody stops it
