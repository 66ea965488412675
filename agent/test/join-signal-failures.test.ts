// Why the signalling client cannot connect, against real servers in this process: each cause is
// one error line with a stable code, however often the client retries; a new cause logs again.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { WebSocketServer } from 'ws';
import { classifyClose, classifyError } from '../join/signalling/connect-failure.js';
import { SignalClient } from '../join/signalling/signal-client.js';
import { createLogger } from '../../shared/log.js';
import { normalizeServerUrl } from '../../shared/net/server-url.js';
import { startTestServer, waitFor } from '../../signal-server/test/helpers.js';

const RETRIES = 4;
const FAST = { firstMs: 10, maxMs: 40 };

interface Line {
  level: string;
  msg: string;
  code?: string;
  server?: string;
}

/** Runs a client against `url` until it has failed RETRIES times; its log lines. */
async function failures(t: Test, url: string, token?: string, until = RETRIES): Promise<{ lines: Line[]; client: SignalClient }> {
  const lines: Line[] = [];
  const log = createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(JSON.parse(l) as Line) });
  const client = new SignalClient({ url, token, log, backoff: FAST });
  t.teardown(() => client.close());
  let failed = 0;
  client.start({ welcome: () => undefined, message: () => undefined, disconnected: () => failed++ });
  await waitFor(() => failed >= until, 10_000, `${until} failed attempts at ${url}`);
  return { lines, client };
}

function oneError(t: Test, lines: Line[], code: string, message: RegExp): void {
  const errors = lines.filter((l) => l.level === 'error');
  t.equal(errors.length, 1, `exactly one error line across ${RETRIES} attempts: ${errors.map((e) => e.msg).join(' | ')}`);
  t.equal(errors[0]?.code, code, 'with its stable code');
  t.match(errors[0]?.msg, message, errors[0]?.msg ?? 'no error line');
  t.ok(lines.filter((l) => l.level === 'debug' && l.code === code).length >= RETRIES - 1, 'repeats are debug lines');
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

t.test('a wrong path: 404 names the default path', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const { lines } = await failures(t, server.url.replace(/\/ws$/, '/signal'));
  oneError(t, lines, 'no_websocket_endpoint', /^cannot connect to the signal server: HTTP 404 on upgrade: no WebSocket endpoint at this path; the default is \/ws$/);
  t.notMatch(JSON.stringify(lines), /closed before the connection was established/, 'not the generic ws message');
});

t.test('a missing or wrong token: the server wants --token', async (t) => {
  const server = await startTestServer({ token: 'right-token' });
  t.teardown(() => server.close());
  const missing = await failures(t, server.url);
  oneError(t, missing.lines, 'token_required', /the server wants a token \(--token\): missing or wrong token$/);
  const wrong = await failures(t, server.url, 'wrong-token');
  oneError(t, wrong.lines, 'token_required', /the server wants a token \(--token\)/);
});

t.test('HTTP 401 on upgrade (a proxy in front): the same hint', async (t) => {
  const server = http.createServer((_req, res) => res.writeHead(401).end());
  t.teardown(() => server.close());
  const port = await listen(server);
  const { lines } = await failures(t, `ws://127.0.0.1:${port}/ws`);
  oneError(t, lines, 'token_required', /HTTP 401 on upgrade: the server wants a token \(--token\)$/);
});

t.test('another protocol version', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  t.teardown(() => wss.close());
  wss.on('connection', (ws) =>
    ws.once('message', () => {
      ws.send(JSON.stringify({ type: 'error', code: 'VERSION', message: 'this server speaks protocol version 9' }));
      ws.close(1002, 'unsupported protocol version');
    }),
  );
  const { lines } = await failures(t, `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`);
  oneError(t, lines, 'protocol_version', /protocol version mismatch: this server speaks protocol version 9$/);
});

t.test('TLS with a certificate we do not trust', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wgp2p-sigerr-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  try {
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert]);
  } catch (err) {
    t.plan(0, `skipped: cannot make a test certificate: ${(err as Error).message}`);
    return;
  }
  const server = await startTestServer({ tlsCert: cert, tlsKey: key });
  t.teardown(() => server.close());
  t.match(server.url, /^wss:/);
  const { lines } = await failures(t, server.url);
  oneError(t, lines, 'tls_error', /TLS error: the server's certificate is not accepted: self[- ]signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/);
});

// A real lookup would ask the machine's resolver, outside the test's own hosts: the resolver's
// answer is made up instead, in the shapes Node gives it (alone, or first of happy eyeballs').
t.test('a name that does not resolve', async (t) => {
  const url = new URL('ws://signal.example.invalid:8080/ws');
  for (const code of ['ENOTFOUND', 'EAI_AGAIN']) {
    const alone = Object.assign(new Error(`getaddrinfo ${code} signal.example.invalid`), { code });
    t.same(classifyError(alone, url), { code: 'dns_failure', message: `cannot resolve signal.example.invalid (${code})` });
    const many = Object.assign(new AggregateError([alone]), { errors: [alone] });
    t.equal(classifyError(many, url).code, 'dns_failure', `${code} inside an AggregateError`);
  }
});

t.test('a closed port, then a new cause logs again', async (t) => {
  const port = await freePort();
  const { lines } = await failures(t, `ws://127.0.0.1:${port}/ws`);
  oneError(t, lines, 'connection_refused', new RegExp(`connection refused at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));

  // Something else starts on that port and answers 404: a new cause, a new error line.
  const other = http.createServer((_req, res) => res.writeHead(404).end());
  t.teardown(() => other.close());
  await new Promise<void>((r) => other.listen(port, '127.0.0.1', r));
  await waitFor(() => lines.some((l) => l.code === 'no_websocket_endpoint' && l.level === 'debug'), 5000, 'the 404 repeated');
  t.strictSame(lines.filter((l) => l.level === 'error').map((l) => l.code), ['connection_refused', 'no_websocket_endpoint'], 'one error line per cause');
});

t.test('--server host:port reaches a server at /ws', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const url = normalizeServerUrl(`127.0.0.1:${server.http.port}`);
  t.equal(url, server.url, 'the normal form is the URL the server announces');
  const client = new SignalClient({ url, log: createLogger({ level: 'silent' }), backoff: FAST });
  t.teardown(() => client.close());
  let welcomed = false;
  client.start({ welcome: () => (welcomed = true), message: () => undefined });
  await waitFor(() => welcomed, 5000, 'welcome');
  t.ok(client.connected);
});

t.test('close codes: 1008 before the greeting is the token, after it no hint', async (t) => {
  t.equal(classifyClose(1008, 'unauthorized', false)?.code, 'token_required');
  t.strictSame(classifyClose(1008, 'too many bad frames', true), { code: 'closed_by_server', message: 'closed by the server (1008 too many bad frames)' });
  t.equal(classifyClose(1006, '', false), undefined, 'a plain drop has no cause of its own');
});
