// `wgp2p genkey | pubkey | genpsk`: byte-compatible with `wg genkey | pubkey | genpsk`.
import { randomBytes } from 'node:crypto';
import { clamp, PrivateKey } from '../agent/wireguard/crypto.js';
import { formatKey, parseKey } from '../shared/keys.js';

export function genkey(): string {
  return formatKey(clamp(randomBytes(32))) + '\n';
}

export function genpsk(): string {
  return formatKey(randomBytes(32)) + '\n';
}

/** Reads a base64 private key (stdin text) and returns its public key line. */
export function pubkey(input: string): string {
  const priv = parseKey(input, 'private key on standard input');
  return formatKey(new PrivateKey(priv).publicKey) + '\n';
}
