// --tls-cert / --tls-key: agents speak wss://, /healthz answers over https, and a client that
// opens TCP but never finishes the TLS handshake is cut off like any other slow handshake.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { startTestServer, TestClient } from './helpers.js';
import { connectTcp, whenClosed } from './raw-ws.js';

/** A throw-away self-signed certificate for 127.0.0.1, made with the openssl command. */
async function selfSigned(dir: string): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
  ]);
  return { certFile, keyFile };
}

t.test('wss and https with a certificate from files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wgp2p-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let files: { certFile: string; keyFile: string };
  try {
    files = await selfSigned(dir);
  } catch (err) {
    // Without openssl there is no certificate to test with; nothing here is about openssl.
    t.plan(0, `skipped: cannot make a test certificate: ${(err as Error).message}`);
    return;
  }
  const ca = await readFile(files.certFile);
  const server = await startTestServer({ tlsCert: files.certFile, tlsKey: files.keyFile, handshakeTimeoutMs: 500 });
  t.teardown(() => server.close());
  t.match(server.url, /^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
  t.match(server.httpUrl, /^https:\/\//);

  const agent = await TestClient.connect(server.url, { ca });
  t.teardown(() => agent.close());
  agent.send({ type: 'hello', v: 2 });
  t.equal((await agent.next((m) => m.type === 'welcome')).type, 'welcome', 'hello over wss');

  const status = await new Promise<number | undefined>((resolve, reject) => {
    https.get(`${server.httpUrl}/healthz`, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on('error', reject);
  });
  t.equal(status, 200, '/healthz over https');

  await t.rejects(TestClient.connect(server.url.replace('wss:', 'ws:')), 'plain ws to a TLS port fails');
  const silent = await connectTcp(server.http.port);
  const failedBefore = server.metrics().disconnects.tls_handshake_failed ?? 0;
  const took = await whenClosed(silent);
  t.ok(took >= 400 && took < 3000, `a client that never starts TLS is cut after ${took.toFixed(0)} ms`);
  t.equal(server.metrics().disconnects.tls_handshake_failed, failedBefore + 1, 'and counted');
  t.equal((await fetch(`${server.httpUrl.replace('https:', 'http:')}/healthz`).catch(() => undefined))?.status, undefined, 'no plain HTTP on the TLS port');
});
