#!/usr/bin/env node
// @ts-check
// Builds the N-API addon (agent/native) with node-gyp against this machine's Node headers.
// Plain JavaScript because it runs as the package's `install` script, before any TypeScript
// is compiled (and on an installed package, which ships no compiler).
//
//   node scripts/build-native.mjs [--force] [--install] [--dir DIR]
//
// Quiet on success. Skips the build when the addon is newer than its sources (so `npm ci`
// followed by `npm run build` compiles once). On failure prints ONE line naming the first
// error, keeps node-gyp's whole output in a log file, and (outside --install) shows that output.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_DIR = join(PACKAGE_ROOT, 'agent', 'native');
const ADDON_FILE = join('build', 'Release', 'wgp2p_tun.node');
const PREFIX = 'wgp2p: cannot build the native addon (needs python3, make and a C++ compiler)';
/** Lines that only say "something failed" and make a poor summary. */
const GENERIC = /^(gyp ERR! (configure|build) error|gyp ERR! not ok|gyp ERR! (System|command|cwd|node -v|node-gyp -v)\b|make: \*\*\*|make: Leaving|make: Entering)/;

/** @param {string[]} argv */
function parseArgv(argv) {
  const opts = { force: false, install: false, dir: DEFAULT_DIR };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--force') opts.force = true;
    else if (a === '--install') opts.install = true;
    else if (a === '--dir' && argv[i + 1]) opts.dir = resolve(argv[++i] ?? '');
    else throw new Error(`usage: build-native.mjs [--force] [--install] [--dir DIR] (got "${a}")`);
  }
  return opts;
}

/** Newest modification time among binding.gyp and src/. */
function newestSource(dir) {
  let newest = statSync(join(dir, 'binding.gyp')).mtimeMs;
  const src = join(dir, 'src');
  for (const f of existsSync(src) ? readdirSync(src) : []) newest = Math.max(newest, statSync(join(src, f)).mtimeMs);
  return newest;
}

function upToDate(dir) {
  const addon = join(dir, ADDON_FILE);
  return existsSync(addon) && statSync(addon).mtimeMs >= newestSource(dir);
}

/**
 * The Node headers to build against: npm's nodedir setting if given, else the prefix of the
 * running node (…/bin/node → …/include/node). Never a download: node-gyp's fallback fetches
 * headers from the internet, which an offline machine cannot do.
 */
function findNodedir() {
  const configured = process.env.npm_config_nodedir;
  if (configured) return { nodedir: configured };
  const prefix = dirname(dirname(process.execPath));
  const headers = join(prefix, 'include', 'node');
  if (existsSync(join(headers, 'node_api.h')) && existsSync(join(headers, 'common.gypi'))) return { nodedir: prefix };
  return { missing: `no Node headers in ${headers} (install your distribution's Node development headers, e.g. Debian's libnode-dev, or set npm_config_nodedir)` };
}

/** node-gyp: the one npm runs scripts with, else this checkout's, else whatever is on the PATH. */
function findNodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return [process.execPath, process.env.npm_config_node_gyp];
  try {
    return [process.execPath, createRequire(join(PACKAGE_ROOT, 'package.json')).resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    return ['node-gyp'];
  }
}

/** The most telling line of a failed build: the compiler's or node-gyp's first real error. */
export function firstErrorLine(output) {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const tool = lines.find((l) => !l.startsWith('gyp ') && /(error|not found|No such file|cannot|Could not)/i.test(l) && !GENERIC.test(l));
  if (tool) return tool;
  const stack = lines.find((l) => l.startsWith('gyp ERR! stack Error: '));
  if (stack) return stack.slice('gyp ERR! stack Error: '.length);
  const gyp = lines.find((l) => l.startsWith('gyp ERR! ') && !GENERIC.test(l));
  return gyp ? gyp.slice('gyp ERR! '.length) : (lines.at(-1) ?? 'node-gyp failed without a message');
}

function fail(line, log, output, showOutput) {
  if (showOutput && output) process.stderr.write(output.endsWith('\n') ? output : output + '\n');
  process.stderr.write(`${PREFIX}: ${line}${log ? ` (full log: ${log})` : ''}\n`);
  process.exit(1);
}

function main() {
  const opts = parseArgv(process.argv.slice(2));
  if (process.platform !== 'linux') {
    // The addon is Linux-only (binding.gyp builds nothing elsewhere); the CLI says so at run time.
    return;
  }
  if (!opts.force && upToDate(opts.dir)) return;
  const found = findNodedir();
  if (!found.nodedir) return fail(found.missing ?? 'no Node headers', undefined, '', false);
  const [cmd, ...pre] = findNodeGyp();
  const args = [...pre, 'rebuild', '--directory', opts.dir, `--nodedir=${found.nodedir}`, '--loglevel=error', '--jobs=max'];
  // make's own directory chatter and gyp's quiet command echo go to stdout, which we keep for the log only.
  const r = spawnSync(cmd ?? 'node-gyp', args, { encoding: 'utf8', env: { ...process.env, MAKEFLAGS: '--no-print-directory -s' } });
  if (r.error) return fail(`cannot run node-gyp: ${r.error.message}`, undefined, '', false);
  if (r.status === 0) return;
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const log = join(mkdtempSync(join(tmpdir(), 'wgp2p-native-')), 'build.log');
  writeFileSync(log, `$ ${cmd} ${args.join(' ')}\n${output}`);
  fail(firstErrorLine(output), log, output, !opts.install);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`${PREFIX}: ${/** @type {Error} */ (e).message}\n`);
    process.exit(1);
  }
}
