// `wgp2p room init`, `wgp2p invite` and `wgp2p join --invite` from the command line: the state
// directory they write (0600), and every refusal one clear line before anything starts.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, tsChildEnv, tsScriptArgv } from '../../signal-server/test/node-child.js';
import { decodeInvite } from '../../agent/join/membership/invite.js';
import { roomStatePath } from '../../agent/join/membership/room-state.js';
import { checkInvite, checkMembership } from '../../agent/join/membership/statements.js';
import { scanTerminalQr } from './fixtures/scan-qr.js';

function wgp2p(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const built = join(REPO_ROOT, 'dist/cli/main.js');
  const argv = existsSync(built) ? [built, ...args] : tsScriptArgv('cli/main.ts', args);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { env: { ...process.env, ...tsChildEnv({}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('room init, invite, and what join --invite refuses', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wgp2p-room-cli-'));
  const admin = join(dir, 'admin');
  const init = await wgp2p(['room', 'init', '--room', 'office', '--server', '192.0.2.1', '--state-dir', admin, '--name', 'alice']);
  t.equal(init.code, 0, init.stderr);
  const file = roomStatePath(admin, 'office');
  t.equal(statSync(file).mode & 0o777, 0o600, 'the room state is 0600');
  const state = JSON.parse(readFileSync(file, 'utf8'));
  const auth = { anchor: state.anchor, isRevoked: () => false };
  t.ok(state.admin && state.secret.length >= 32, 'it holds the admin key and a strong secret');
  const ownKey = readFileSync(join(admin, 'private.key'), 'utf8');
  t.ok(ownKey && checkMembership(state.membership, state.membership.k, auth).ok, 'and the admin\'s own membership');
  const again = await wgp2p(['room', 'init', '--room', 'office', '--server', '192.0.2.1', '--state-dir', admin]);
  t.equal(again.code, 2);
  t.match(again.stderr, /exists: room office was made here before/);

  const inv = await wgp2p(['invite', '--room', 'office', '--state-dir', admin, '--uses', '3', '--name', 'carol', '--expires', '2h']);
  t.equal(inv.code, 0, inv.stderr);
  const invite = decodeInvite(inv.stdout);
  t.match(invite, { server: 'ws://192.0.2.1:8080/ws', room: 'office', secret: state.secret, anchor: state.anchor });
  const grant = checkInvite(invite.grant, auth);
  t.match(grant, { ok: true, value: { uses: 3, name: 'carol' } });
  t.ok(grant.ok && Math.abs(grant.value.expires - Date.now() - 7_200_000) < 60_000, 'valid for two hours');
  t.match(inv.stderr, `invite ${grant.ok && grant.value.id} for room office`, 'its id (for --revoke) is printed aside');
  const withQr = await wgp2p(['invite', '--room', 'office', '--state-dir', admin, '--qr']);
  t.equal(withQr.code, 0, withQr.stderr);
  t.equal(withQr.stdout.split('\n').length, 2, '--qr leaves stdout one line');
  t.equal(scanTerminalQr(withQr.stderr), withQr.stdout.trim(), 'and the QR code on stderr scans to that line');

  const cases: [string[], RegExp][] = [
    [['invite', '--room', 'office', '--state-dir', join(dir, 'nobody')], /no room office in/],
    [['invite', '--room', 'office', '--state-dir', admin, '--expires', 'soon'], /--expires.*duration/],
    [['invite', '--room', 'office', '--state-dir', admin, '--uses', '0'], /--uses/],
    [['join', '--invite', 'wgp2p-invite:AAAA', '--state-dir', join(dir, 'm')], /the invite is damaged/],
    [['join', '--invite', 'nonsense', '--state-dir', join(dir, 'm')], /not a wgp2p invite/],
    [['join', '--invite', inv.stdout.trim(), '--room', 'lab', '--state-dir', join(dir, 'm')], /for room "office", not "lab"/],
    [['room', 'init', '--room', 'x', '--state-dir', join(dir, 'y')], /--room and --server are required/],
    [['invite', '--revoke', 'nonsense'], /--revoke: not a wgp2p invite/],
  ];
  for (const [args, re] of cases) {
    const r = await wgp2p(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, re);
  }
  const short = await wgp2p(['invite', '--room', 'office', '--state-dir', admin, '--expires', '1s']);
  await new Promise((r) => setTimeout(r, 1_100));
  const late = await wgp2p(['join', '--invite', short.stdout.trim(), '--state-dir', join(dir, 'm')]);
  t.equal(late.code, 2);
  t.match(late.stderr, /the invite has expired: ask an admin for a new one/);
  t.notOk(existsSync(join(dir, 'm')), 'nothing was written for a refused invite');
});
