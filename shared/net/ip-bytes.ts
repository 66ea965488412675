// Textual IP addresses <-> raw bytes (network order), as packets and STUN attributes carry them.
// Shared by the STUN codec and the address helpers: a small, strict parser with no dependencies.

export type IpFamily = 'IPv4' | 'IPv6';

export interface IpBytes {
  family: IpFamily;
  bytes: Uint8Array;
}

const IPV4_PART = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!IPV4_PART.test(parts[i]!)) return undefined;
    out[i] = Number(parts[i]);
  }
  return out;
}

/** Hextets of one side of "::"; an embedded IPv4 only where `v4Last` says the address ends. */
function parseHextets(groups: string[], v4Last: boolean): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (v4Last && i === groups.length - 1 && g.includes('.')) {
      const v4 = parseIpv4(g);
      if (!v4) return undefined;
      out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else if (HEXTET.test(g)) {
      out.push(parseInt(g, 16));
    } else {
      return undefined;
    }
  }
  return out;
}

/** Strict: no zone ("%eth0"; callers that accept one strip it first), IPv4 only at the end. */
function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const single = halves.length === 1;
  const head = halves[0] === '' ? [] : parseHextets(halves[0]!.split(':'), single);
  const tail = single || halves[1] === '' ? [] : parseHextets(halves[1]!.split(':'), true);
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (single ? missing !== 0 : missing < 1) return undefined;
  const words = [...head, ...new Array<number>(single ? 0 : missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/** Parses a textual IPv4 or IPv6 address; undefined if it is not one. */
export function parseIp(text: string): IpBytes | undefined {
  if (text.includes(':')) {
    const bytes = parseIpv6(text);
    return bytes ? { family: 'IPv6', bytes } : undefined;
  }
  const bytes = parseIpv4(text);
  return bytes ? { family: 'IPv4', bytes } : undefined;
}

/** Formats raw bytes (4 or 16) as text; IPv6 in the RFC 5952 shortest form. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  // The longest run of two or more zero words becomes "::" (first one on a tie).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/**
 * Dual-stack sockets report IPv4 peers as "::ffff:a.b.c.d"; STUN must answer with the IPv4
 * address itself or the client learns a mapping it cannot use.
 */
export function unmapIpv4(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}
