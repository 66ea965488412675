// RoomMembers: one member per public key, one per server connection, and a cap on how many.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { formatKey } from '../../shared/keys.js';
import type { Announcement } from '../join/room/announcement.js';
import { derivePairKeys } from '../join/room/pair-keys.js';
import { PathFinder } from '../join/paths/direct/punch.js';
import { MAX_MEMBERS, RoomMembers } from '../join/room/room-members.js';
import { PrivateKey } from '../wireguard/crypto.js';

const roomKey = randomBytes(32);
const self = PrivateKey.generate();

function members(): RoomMembers {
  return new RoomMembers((a) => ({ key: formatKey(a.publicKey), publicKey: a.publicKey, keys: derivePairKeys(roomKey, self, a.publicKey), finder: new PathFinder() }));
}

function announce(publicKey: Buffer, memberId: string, address = '10.147.0.2'): Announcement {
  return { publicKey, memberId, name: memberId, address, candidates: [], nat: { mapping: 'unknown', filtering: 'unknown' }, bounce: false, hub: false, issuedAt: 0 };
}

t.test('a connection that announces another key replaces its member: one connection, one member', async (t) => {
  const r = members();
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const first = r.upsert(announce(k1, 'conn-1'))!;
  t.equal(first.isNew, true);
  t.equal(first.replaced, undefined);
  const second = r.upsert(announce(k2, 'conn-1'))!;
  t.equal(second.isNew, true);
  t.equal(second.replaced, first.member, 'the old key is handed back for removal');
  t.equal(r.size, 1, 'only the new key is a member');
  t.equal(r.get(k1), undefined);
  t.equal(r.byMember('conn-1'), second.member);
  t.equal(r.byPair(first.member.keys.pairId), undefined, 'its disco pair id is gone too');
  // The same key moving to a new connection (a reconnect) is the same member, nothing replaced.
  const moved = r.upsert(announce(k2, 'conn-2'))!;
  t.equal(moved.isNew, false);
  t.equal(moved.replaced, undefined);
  t.equal(moved.member, second.member);
  t.equal(r.byMember('conn-1'), undefined, 'the old mailing address is dropped');
  t.equal(r.byMember('conn-2'), second.member);
});

t.test(`at most ${MAX_MEMBERS} members; known ones still update`, async (t) => {
  const r = members();
  const keys = Array.from({ length: MAX_MEMBERS }, () => randomBytes(32));
  t.equal(keys.filter((k, i) => !r.upsert(announce(k, `m${i}`))).length, 0, 'up to the cap, all are taken');
  t.equal(r.size, MAX_MEMBERS);
  t.equal(r.upsert(announce(randomBytes(32), 'one-more')), undefined, 'a new member beyond the cap is refused');
  t.equal(r.size, MAX_MEMBERS);
  const again = r.upsert(announce(keys[7]!, 'm7', '10.147.0.99'));
  t.equal(again?.addressChanged, true, 'a known member still updates');
});
