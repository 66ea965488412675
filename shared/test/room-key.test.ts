// Room credentials and sealed blobs: deterministic derivation, and nothing opens unless it was
// sealed with the same room secret, for the same room and purpose, and left untouched.
import t from 'tap';
import { checkBlob, isRoomId, MAX_BLOB_BYTES } from '../signal/index.js';
import { deriveRoom, MAX_SEALED_PAYLOAD, openForRoom, sealForRoom } from '../signal/room-key.js';

const office = deriveRoom('office', 'correct horse battery staple');

t.test('derivation is deterministic and separates names and secrets', async (t) => {
  const again = deriveRoom('office', 'correct horse battery staple');
  t.equal(again.roomId, office.roomId);
  t.same(Buffer.from(again.key), Buffer.from(office.key));
  t.ok(isRoomId(office.roomId), 'the room id is what the protocol expects (64 hex)');
  const others = [deriveRoom('office2', 'correct horse battery staple'), deriveRoom('office', 'correct horse battery stapler')];
  for (const o of others) {
    t.not(o.roomId, office.roomId);
    t.notSame(Buffer.from(o.key), Buffer.from(office.key));
  }
  t.notOk(office.roomId.includes(Buffer.from('office').toString('hex')), 'the id does not carry the name');
  t.equal(deriveRoom('caf\u00e9', 's').roomId, deriveRoom('cafe\u0301', 's').roomId, 'names are compared in NFC');
  t.throws(() => deriveRoom('', 'x'), /room name/);
  t.throws(() => deriveRoom('x', ''), /room secret/);
});

t.test('seal and open', async (t) => {
  const payload = Buffer.from('{"endpoints":["203.0.113.4:51820"]}');
  const blob = sealForRoom(office, 'announce', payload, 1_700_000_000_123);
  t.equal(checkBlob(blob), 'ok', 'a sealed blob is a valid protocol blob');
  t.notOk(Buffer.from(blob, 'base64').includes(payload), 'the payload is not readable in the blob');
  t.same(openForRoom(office, 'announce', blob), { payload: new Uint8Array(payload), issuedAt: 1_700_000_000_123 });
  t.not(sealForRoom(office, 'announce', payload), sealForRoom(office, 'announce', payload), 'fresh nonce every time');

  const biggest = sealForRoom(office, 'message', Buffer.alloc(MAX_SEALED_PAYLOAD, 1));
  t.equal(Buffer.from(biggest, 'base64').length, MAX_BLOB_BYTES, 'the largest payload fills a blob exactly');
  t.equal(checkBlob(biggest), 'ok');
  t.throws(() => sealForRoom(office, 'message', Buffer.alloc(MAX_SEALED_PAYLOAD + 1)), RangeError);
});

t.test('nothing else opens', async (t) => {
  const blob = sealForRoom(office, 'announce', Buffer.from('hello'));
  const stranger = deriveRoom('office', 'guessed wrong');
  const otherRoom = deriveRoom('lab', 'correct horse battery staple');
  t.equal(openForRoom(stranger, 'announce', blob), undefined, 'wrong secret');
  t.equal(openForRoom({ ...office, roomId: otherRoom.roomId }, 'announce', blob), undefined, 'replayed into another room');
  t.equal(openForRoom(office, 'message', blob), undefined, 'replayed as a directed message');
  t.equal(openForRoom(office, 'announce', sealForRoom(stranger, 'announce', Buffer.from('let me in'))), undefined, 'forged by an outsider');

  const bytes = Buffer.from(blob, 'base64');
  let opened = 0;
  for (let i = 0; i < bytes.length; i++) {
    const bent = Buffer.from(bytes);
    bent[i]! ^= 0x01;
    if (openForRoom(office, 'announce', bent.toString('base64'))) opened++;
  }
  t.equal(opened, 0, 'no single flipped bit survives');
  for (const junk of ['', 'AAAA', '!!!!', 'not base64 at all', blob.slice(0, -4), `${blob}AAAA`, Buffer.alloc(60).toString('base64')]) {
    t.equal(openForRoom(office, 'announce', junk), undefined, `junk ${JSON.stringify(junk.slice(0, 12))}`);
  }
});
