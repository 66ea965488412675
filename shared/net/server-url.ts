// The --server value of join and netcheck, in every form people write it: "host", "host:port",
// "[v6]:port", or a ws://, wss://, http:// or https:// URL. One normal form, a ws:// or wss:// URL
// with a path, is what the agent connects to and what the logs show.
import { parseIp } from './ip-bytes.js';
import { parseHostPort } from './host-port.js';

/** The signal server's default listen port (signal-server/config.ts), for a bare host. */
export const DEFAULT_SIGNAL_PORT = 8080;
/** Where the server accepts WebSockets, when the URL names no path. */
export const DEFAULT_SIGNAL_PATH = '/ws';

const SCHEMES: Record<string, 'ws:' | 'wss:'> = { 'ws:': 'ws:', 'wss:': 'wss:', 'http:': 'ws:', 'https:': 'wss:' };
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The normal form of a --server value; throws an Error whose message is fit for a user. */
export function normalizeServerUrl(text: string): string {
  const input = text.trim();
  if (!input) throw new Error('--server is empty (expected e.g. signal.example, signal.example:8080 or wss://signal.example/ws)');
  return HAS_SCHEME.test(input) ? fromUrl(input) : fromHost(input);
}

/** The normalised --server value as a URL (its hostname keeps IPv6 brackets). */
export function parseServerUrl(text: string): URL {
  return new URL(normalizeServerUrl(text));
}

function fromUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--server "${text}" is not a URL (expected e.g. ws://signal.example:8080/ws)`);
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme) throw new Error(`--server "${text}": the scheme must be ws://, wss://, http:// or https://`);
  if (!url.hostname) throw new Error(`--server "${text}" has no host`);
  // url.host keeps a non-default port; http and ws (80), https and wss (443) share defaults.
  const path = url.pathname === '/' || url.pathname === '' ? DEFAULT_SIGNAL_PATH : url.pathname;
  return `${scheme}//${url.host}${path}${url.search}`;
}

function fromHost(text: string): string {
  const slash = text.indexOf('/');
  const authority = slash < 0 ? text : text.slice(0, slash);
  const path = slash < 0 || text.slice(slash) === '/' ? DEFAULT_SIGNAL_PATH : text.slice(slash);
  const hp = parseHostPort(authority);
  let host = hp ? hp.host : authority.replace(/^\[(.*)\]$/, '$1');
  const port = hp ? hp.port : DEFAULT_SIGNAL_PORT;
  if (!host) throw new Error(`--server "${text}" has no host`);
  if (host.includes(':')) {
    // Only an IPv6 literal may hold colons; it goes in brackets.
    if (parseIp(host.replace(/%.*$/, ''))?.family !== 'IPv6') throw new Error(`--server "${text}": expected host, host:port, [IPv6]:port or a URL`);
    host = `[${host}]`;
  }
  let url: URL;
  try {
    url = new URL(`ws://${host}:${port}${path}`);
  } catch {
    throw new Error(`--server "${text}" is not a host, host:port or URL (expected e.g. signal.example:8080)`);
  }
  return url.href;
}
