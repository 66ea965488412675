#!/usr/bin/env node
// An attacker on the signal server, as a raw WebSocket client (plain JS, runs with `node` in a
// namespace). Knowing the room id (the operator sees it) but not the secret, it cannot join (the
// join proof of a guessed secret is refused). As an insider, it joins with an announcement sealed
// under a guessed secret, updates it with random bytes, replays a
// real member's announcement under its own id, and sends each member a forged punch request.
// Then, as an insider who does know the secret, it announces a real member's public key under its
// own id (the signature, made without that member's private key, cannot verify).
//   forge-announce.mjs URL ROOM-NAME REAL-SECRET
// Prints one JSON line: {"announcements": N, "messages": M, "members": K}.
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { deriveRoom, openForRoom, roomJoinProof, sealForRoom } from '../../dist/shared/signal/room-key.js';
import { xeddsaSign } from '../../dist/agent/join/identity/xeddsa.js';

const [url, roomName, secret] = process.argv.slice(2);
const real = deriveRoom(roomName, secret);
const guess = deriveRoom(roomName, 'password123');
const ws = new WebSocket(url);
const frames = [];
const next = (type) =>
  new Promise((resolve, reject) => {
    const seen = frames.find((f) => f.type === type);
    if (seen) return resolve(seen);
    const timer = setTimeout(() => reject(new Error(`no ${type} from the server`)), 5000);
    ws.on('message', function on(d) {
      const f = JSON.parse(String(d));
      if (f.type !== type) return;
      clearTimeout(timer);
      ws.off('message', on);
      resolve(f);
    });
  });
ws.on('message', (d) => frames.push(JSON.parse(String(d))));
await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
ws.send(JSON.stringify({ type: 'hello', v: 2 }));
const welcome = await next('welcome');
const fake = JSON.stringify({ v: 1, k: randomBytes(32).toString('base64'), m: welcome.id, n: 'mallory', a: '10.147.6.6', c: [], nat: ['unknown', 'unknown'] });
const announceFake = sealForRoom(guess, 'announce', Buffer.from(fake));
ws.send(JSON.stringify({ type: 'join', room: real.roomId, announce: announceFake, ...roomJoinProof(guess, welcome.nonce) }));
const refused = await next('error');
if (refused.code !== 'BAD_PROOF') throw new Error(`an outsider's join was not refused: ${JSON.stringify(refused)}`);
ws.send(JSON.stringify({ type: 'join', room: real.roomId, announce: announceFake, ...roomJoinProof(real, welcome.nonce) }));
const members = (await next('members')).members;
ws.send(JSON.stringify({ type: 'update', room: real.roomId, announce: randomBytes(200).toString('base64') }));
let announcements = 2;
if (members.length > 0) {
  ws.send(JSON.stringify({ type: 'update', room: real.roomId, announce: members[0].announce }));
  announcements++;
  const victim = JSON.parse(Buffer.from(openForRoom(real, 'announce', members[0].announce).payload).toString());
  const now = Date.now();
  const { s: _theirs, ...payload } = { ...victim, m: welcome.id, n: 'mallory', t: now };
  const s = xeddsaSign(randomBytes(32), Buffer.from(`wgp2p announcement v2\0${JSON.stringify(payload)}`)).toString('base64');
  ws.send(JSON.stringify({ type: 'update', room: real.roomId, announce: sealForRoom(real, 'announce', Buffer.from(JSON.stringify({ ...payload, s })), now) }));
  announcements++;
}
for (const m of members) {
  const punch = JSON.stringify({ v: 1, t: 'punch', k: randomBytes(32).toString('base64'), f: welcome.id, to: m.id, s: 'x', c: [], d: 0 });
  ws.send(JSON.stringify({ type: 'send', room: real.roomId, to: m.id, data: sealForRoom(guess, 'message', Buffer.from(punch)) }));
}
// A round trip, so everything above has been forwarded before we leave.
ws.send(JSON.stringify({ type: 'ping', ref: 'done' }));
await next('pong');
process.stdout.write(JSON.stringify({ announcements, messages: members.length, members: members.length }) + '\n');
ws.close();
