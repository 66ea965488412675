// The terminal QR code decodes, with an independent decoder, to exactly the text it was made
// from: short and long texts, odd and even symbol sizes, and the quiet zone a scanner needs.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { renderQr, QR_QUIET_ZONE } from '../qr.js';
import { scanTerminalQr } from './fixtures/scan-qr.js';

t.test('what renderQr draws scans back to its text', async (t) => {
  const lengths = [1, 17, 100, 250, 400, 700];
  for (const n of lengths) {
    const text = 'wgp2p-invite:' + randomBytes(n).toString('base64url').slice(0, n);
    const drawn = renderQr(text);
    t.equal(scanTerminalQr(drawn), text, `a ${text.length}-character text`);
  }
});

t.test('the symbol sits in a light quiet zone, and only dark modules are left blank', async (t) => {
  const lines = renderQr('wgp2p').trimEnd().split('\n');
  const halfRows = QR_QUIET_ZONE / 2;
  for (const line of [...lines.slice(0, halfRows)]) t.match(line, /^█+$/, 'the top quiet rows are all light');
  for (const line of lines) t.equal([...line].slice(0, QR_QUIET_ZONE).join(''), '█'.repeat(QR_QUIET_ZONE), 'the left margin is light');
  t.ok(lines.some((l) => l.includes(' ')), 'dark modules exist');
});

t.test('a damaged drawing does not scan as some other text', async (t) => {
  const text = 'wgp2p-invite:' + randomBytes(60).toString('base64url');
  const lines = renderQr(text).split('\n');
  // Blank the finder pattern at the upper left: no scanner can place the symbol any more.
  const broken = lines.map((l, i) => (i >= 2 && i < 6 ? ' '.repeat(12) + [...l].slice(12).join('') : l)).join('\n');
  t.not(scanTerminalQr(broken), text);
});
