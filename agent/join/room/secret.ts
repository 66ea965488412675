// The room secret: from --secret, --secret-file or WGP2P_SECRET (in that order), never empty.
// `wgp2p secret` makes a new one: 32 random bytes, base64url, about 256 bits of entropy.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Below this length a secret is guessable offline from the room id the server sees. */
const WEAK_LENGTH = 16;

export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

export interface SecretSources {
  flag?: string;
  file?: string;
  env?: string;
}

export interface ResolvedSecret {
  secret: string;
  /** Where it came from, for messages: "--secret", "--secret-file PATH", "WGP2P_SECRET". */
  source: string;
  weak: boolean;
}

/** Picks the secret; throws one clear line when there is none or it cannot be read. */
export function resolveSecret(s: SecretSources): ResolvedSecret {
  if (s.flag !== undefined && s.file !== undefined) throw new Error('give either --secret or --secret-file, not both');
  let secret: string;
  let source: string;
  if (s.flag !== undefined) {
    secret = s.flag;
    source = '--secret';
  } else if (s.file !== undefined) {
    source = `--secret-file ${s.file}`;
    try {
      // One trailing newline is what `wgp2p secret > file` leaves; it is not part of the secret.
      secret = readFileSync(s.file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new Error(`cannot read the secret file ${s.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  } else if (s.env !== undefined && s.env !== '') {
    secret = s.env;
    source = 'WGP2P_SECRET';
  } else {
    throw new Error('no room secret: give --secret S, --secret-file F or set WGP2P_SECRET (make one with: wgp2p secret)');
  }
  if (secret.length === 0) throw new Error(`the room secret from ${source} is empty`);
  return { secret, source, weak: secret.length < WEAK_LENGTH };
}
