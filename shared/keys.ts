// WireGuard keys as users write them (base64, 44 characters) and as UAPI speaks them (hex).

export const KEY_BYTES = 32;

/** Parses a base64 key exactly as `wg` accepts it; throws an Error naming `what` on bad input. */
export function parseKey(text: string, what = 'key'): Buffer {
  const s = text.trim();
  if (!/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(s)) {
    throw new Error(`${what} is not a valid WireGuard key (expected 44 base64 characters ending in '=')`);
  }
  return Buffer.from(s, 'base64');
}

export function formatKey(key: Uint8Array): string {
  return Buffer.from(key).toString('base64');
}

export function parseHexKey(text: string, what = 'key'): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new Error(`${what} must be 64 hex characters`);
  return Buffer.from(text, 'hex');
}

export function formatHexKey(key: Uint8Array): string {
  return Buffer.from(key).toString('hex');
}

export function isZeroKey(key: Uint8Array): boolean {
  return key.every((b) => b === 0);
}
