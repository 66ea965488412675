// `wgp2p --version`: the version of the installed package, read from its package.json.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** package.json of the package this file belongs to (from cli/ in a checkout or dist/cli/ when built). */
export function packageJsonPath(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; ) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(packageJsonPath(), 'utf8')) as { name?: unknown; version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error(`${packageJsonPath()} has no version`);
  return pkg.version;
}
