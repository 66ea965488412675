// A QR code drawn with Unicode half blocks, so an invite can be scanned off a terminal (a phone
// camera, or a laptop's) instead of copied. The encoder is qrcode-generator (no dependencies);
// this file only draws its module matrix.
import qrcode from 'qrcode-generator';

// Four light modules around the symbol: the quiet zone the QR standard asks for, without which
// scanners miss the finder patterns against a dark terminal frame.
export const QR_QUIET_ZONE = 4;

// Terminals are mostly light text on a dark background, so we draw the light modules and leave
// dark ones as background: each character carries two rows (upper half, lower half).
const GLYPH: Record<string, string> = { '00': ' ', '10': '▀', '01': '▄', '11': '█' };

export function renderQr(text: string): string {
  // 'L' keeps the symbol smallest; a screen has no stains or tears to correct.
  const qr = qrcode(0, 'L');
  qr.addData(text, 'Byte');
  qr.make();
  const count = qr.getModuleCount();
  const size = count + 2 * QR_QUIET_ZONE;
  const light = (row: number, col: number): boolean => {
    const r = row - QR_QUIET_ZONE;
    const c = col - QR_QUIET_ZONE;
    return r < 0 || c < 0 || r >= count || c >= count || !qr.isDark(r, c);
  };
  const lines: string[] = [];
  for (let row = 0; row < size; row += 2) {
    let line = '';
    for (let col = 0; col < size; col++) {
      const upper = light(row, col) ? '1' : '0';
      // An odd size puts the last line's lower half past the quiet zone: light, one more margin row.
      const lower = light(row + 1, col) ? '1' : '0';
      line += GLYPH[upper + lower];
    }
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}
