// Finds and loads the compiled TUN addon (agent/native). The same code runs
// from dist/agent/tun/*.js and from agent/tun/*.ts (tests), so the addon is
// located by walking up to the package root rather than by a fixed relative path.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ADDON_PATH = join('agent', 'native', 'build', 'Release', 'wgp2p_tun.node');
export const ADDON_MISSING_MESSAGE = 'native TUN addon not built: run npm run build:native';

/** The native handle (agent/native/src/tun_handle.h). */
export interface NativeTunHandle {
  readonly name: string;
  readonly droppedWrites: number;
  /** Reads and writes carry a virtio-net header (asked for with `offload`). */
  readonly vnetHdr: boolean;
  /** The TUN_F_* offloads the kernel accepted. */
  readonly offloadFlags: number;
  write(packet: Uint8Array): boolean;
  /** Writes `data`, which starts with its own virtio-net header; only with vnetHdr. */
  writeWithHeader(data: Uint8Array): boolean;
  /** Starts polling. `onBatch` gets one wake-up's packets back to back in `slab`. */
  start(onBatch: (slab: Buffer, lengths: Uint32Array) => void, onError: (err: Error) => void): void;
  close(): void;
}

export interface TunAddon {
  TunHandle: new (name: string, mtu: number, offload?: boolean) => NativeTunHandle;
}

let addon: TunAddon | undefined;

/** Loads the addon once; throws a clear Error if it is missing or unusable. */
export function loadTunAddon(): TunAddon {
  if (addon) return addon;
  if (process.platform !== 'linux') throw new Error(`TUN devices are only supported on Linux (this is ${process.platform})`);
  const path = findAddon(dirname(fileURLToPath(import.meta.url)));
  if (!path) throw new Error(ADDON_MISSING_MESSAGE);
  try {
    addon = createRequire(import.meta.url)(path) as TunAddon;
  } catch (err) {
    throw new Error(`native TUN addon ${path} failed to load (${(err as Error).message}); rebuild it with npm run build:native`);
  }
  return addon;
}

function findAddon(start: string): string | undefined {
  for (let dir = start; ; ) {
    const candidate = join(dir, ADDON_PATH);
    if (existsSync(candidate)) return candidate;
    // The package root is the last place it can be; do not wander further.
    if (existsSync(join(dir, 'package.json'))) return undefined;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
