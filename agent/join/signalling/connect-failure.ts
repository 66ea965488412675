// Why a connection to the signal server failed, in words a user can act on, with a stable code.
// The client logs a cause once at error level and keeps retrying; the code tells repeats apart.
import { CLOSE_ABNORMAL, CLOSE_POLICY } from '../../../shared/signal/close-codes.js';

export type ConnectFailureCode =
  /** The server's name does not resolve. */
  | 'dns_failure'
  /** Nothing listens at that address and port. */
  | 'connection_refused'
  /** The TLS handshake failed, usually on the server's certificate. */
  | 'tls_error'
  /** The upgrade got 404: the URL's path is not the server's WebSocket endpoint. */
  | 'no_websocket_endpoint'
  /** 401, close 1008 or an UNAUTHORIZED frame: a token is missing or wrong. */
  | 'token_required'
  /** The upgrade got another HTTP status. */
  | 'http_status'
  /** The server speaks another protocol version. */
  | 'protocol_version'
  /** The server refused our hello for another reason (its error frame's code in the message). */
  | 'server_refused'
  /** The server closed the connection with a code. */
  | 'closed_by_server'
  /** Any other network error (timeouts, resets, unreachable networks). */
  | 'network_error';

export interface ConnectFailure {
  code: ConnectFailureCode;
  /** One line naming the cause. */
  message: string;
}

const TOKEN_HINT = 'the server wants a token (--token)';

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_NODATA', 'EAI_FAIL']);
/** Node's TLS errors: OpenSSL's verify codes, and its own for names and protocol failures. */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_(GET|VERIFY|DECRYPT)_|HOSTNAME_MISMATCH)/;

interface ErrnoLike extends Error {
  code?: string;
  hostname?: string;
  errors?: ErrnoLike[];
}

/** An 'error' event from ws (or the socket under it) while connecting. */
export function classifyError(e: Error, url: URL): ConnectFailure {
  const err = e as ErrnoLike;
  // Node's happy eyeballs reports every address it tried; the first names the cause.
  const code = err.code ?? err.errors?.[0]?.code;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (code && DNS_CODES.has(code)) return { code: 'dns_failure', message: `cannot resolve ${host} (${code})` };
  if (code === 'ECONNREFUSED') return { code: 'connection_refused', message: `connection refused at ${url.host} (${code}): is the server running on that port?` };
  if (code && TLS_CODE.test(code)) return { code: 'tls_error', message: `TLS error: ${certProblem(err.message)} (${code})` };
  return { code: 'network_error', message: code ? `${err.message} (${code})` : err.message };
}

/** The HTTP status of a refused upgrade. */
export function classifyStatus(status: number): ConnectFailure {
  if (status === 404) return { code: 'no_websocket_endpoint', message: `HTTP ${status} on upgrade: no WebSocket endpoint at this path; the default is /ws` };
  if (status === 401 || status === 403) return { code: 'token_required', message: `HTTP ${status} on upgrade: ${TOKEN_HINT}` };
  return { code: 'http_status', message: `HTTP ${status} on upgrade` };
}

/**
 * The server closed the connection; undefined for a plain drop. 1008 before the greeting is the
 * token (after it, it means misbehaving frames, so no hint then).
 */
export function classifyClose(code: number, reason: string, greeted: boolean): ConnectFailure | undefined {
  if (!code || code === CLOSE_ABNORMAL) return undefined;
  const why = reason ? ` ${reason}` : '';
  if (code === CLOSE_POLICY && !greeted) return { code: 'token_required', message: `closed by the server (${code}${why}): ${TOKEN_HINT}` };
  return { code: 'closed_by_server', message: `closed by the server (${code}${why})` };
}

/** The server's error frame in answer to our hello. */
export function classifyServerError(code: string, message: string): ConnectFailure {
  if (code === 'UNAUTHORIZED') return { code: 'token_required', message: `${TOKEN_HINT}: ${message}` };
  if (code === 'VERSION') return { code: 'protocol_version', message: `protocol version mismatch: ${message}` };
  return { code: 'server_refused', message: `the server refused us (${code}): ${message}` };
}

function certProblem(message: string): string {
  return /certificate|self[- ]signed|altnames|issuer/i.test(message) ? `the server's certificate is not accepted: ${message}` : message;
}
