// The join agent's Prometheus endpoint: exact text for peers (and the relay section only on a
// bounce), and the HTTP server: GET/HEAD /metrics, 404 elsewhere, 405 for other methods, a clear
// error when the port is taken.
import t from 'tap';
import net from 'node:net';
import http from 'node:http';
import { renderAgentMetrics, serveAgentMetrics, type AgentMetricsSource } from '../join/observe/metrics-http.js';
import type { DropReason } from '../../shared/relay/relay-switch.js';

const PEERS_ONLY = [
  '# HELP wgp2p_peers Room members by the path we have to them.',
  '# TYPE wgp2p_peers gauge',
  'wgp2p_peers{path="direct"} 3',
  'wgp2p_peers{path="relay"} 2',
  'wgp2p_peers{path="none"} 1',
  '',
].join('\n');

const noBounce: AgentMetricsSource = { relay: () => undefined, peers: () => ({ direct: 3, relayed: 2, total: 6 }) };

function bounce(): AgentMetricsSource {
  const dropped = new Map<DropReason, number>([
    ['bad_auth', 4],
    ['not_wireguard', 1],
  ]);
  return { relay: () => ({ stats: { packets: 1234, bytes: 567890, binds: 9, challenges: 3, dropped }, bindings: 7 }), peers: () => ({ direct: 0, relayed: 0, total: 0 }) };
}

t.test('without a bounce: the peers gauge only', async (t) => {
  t.equal(renderAgentMetrics(noBounce), PEERS_ONLY);
  t.notMatch(renderAgentMetrics(noBounce), /wgp2p_relay/, 'no relay section');
});

t.test('with a bounce: relayed packets, bytes, drops by reason and bindings, exactly', async (t) => {
  t.equal(
    renderAgentMetrics(bounce()),
    [
      '# HELP wgp2p_peers Room members by the path we have to them.',
      '# TYPE wgp2p_peers gauge',
      'wgp2p_peers{path="direct"} 0',
      'wgp2p_peers{path="relay"} 0',
      'wgp2p_peers{path="none"} 0',
      '# HELP wgp2p_relayed_packets_total Packets this bounce forwarded between members.',
      '# TYPE wgp2p_relayed_packets_total counter',
      'wgp2p_relayed_packets_total{via="udp"} 1234',
      '# HELP wgp2p_relayed_bytes_total Payload bytes this bounce forwarded between members.',
      '# TYPE wgp2p_relayed_bytes_total counter',
      'wgp2p_relayed_bytes_total{via="udp"} 567890',
      '# HELP wgp2p_relay_dropped_total Relay datagrams dropped, by reason.',
      '# TYPE wgp2p_relay_dropped_total counter',
      'wgp2p_relay_dropped_total{reason="bad_auth"} 4',
      'wgp2p_relay_dropped_total{reason="not_wireguard"} 1',
      '# HELP wgp2p_relay_bindings Members bound to this bounce now.',
      '# TYPE wgp2p_relay_bindings gauge',
      'wgp2p_relay_bindings 7',
      '',
    ].join('\n'),
  );
  const noDrops: AgentMetricsSource = { relay: () => ({ stats: { packets: 0, bytes: 0, binds: 0, challenges: 0, dropped: new Map() }, bindings: 0 }), peers: () => ({ direct: 1, relayed: 0, total: 1 }) };
  const text = renderAgentMetrics(noDrops);
  t.match(text, /^# TYPE wgp2p_relay_dropped_total counter\n# HELP wgp2p_relay_bindings/m, 'no drops: the family is declared with no samples');
  t.match(text, /^wgp2p_peers\{path="none"\} 0$/m);
});

/** A port free a moment ago (a temporary server's, closed again). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function request(port: number, method: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('serves GET and HEAD /metrics; 404 elsewhere; 405 for other methods', async (t) => {
  const port = await freePort();
  let calls = 0;
  const src: AgentMetricsSource = {
    relay: () => undefined,
    peers: () => {
      calls++;
      return { direct: calls, relayed: 0, total: calls };
    },
  };
  const server = await serveAgentMetrics('127.0.0.1', port, src);
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  t.equal((server.address() as net.AddressInfo).port, port);

  const ok = await request(port, 'GET', '/metrics');
  t.equal(ok.status, 200);
  t.equal(ok.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  t.equal(ok.body, PEERS_ONLY.replace('direct"} 3', 'direct"} 1').replace('relay"} 2', 'relay"} 0').replace('none"} 1', 'none"} 0'));
  t.equal(Number(ok.headers['content-length']), Buffer.byteLength(ok.body));
  const again = await request(port, 'GET', '/metrics?x=1');
  t.equal(again.status, 200, 'a query string is ignored');
  t.match(again.body, /^wgp2p_peers\{path="direct"\} 2$/m, 'rendered afresh for every request');

  const head = await request(port, 'HEAD', '/metrics');
  t.equal(head.status, 200);
  t.equal(head.body, '');
  t.equal(Number(head.headers['content-length']), Buffer.byteLength(ok.body), 'HEAD announces the length of the body (same digits as the GET)');

  for (const path of ['/', '/other', '/metrics/', '/metricsx']) {
    const r = await request(port, 'GET', path);
    t.equal(r.status, 404, `GET ${path}`);
    t.equal(r.body, 'not found\n');
  }
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const r = await request(port, method, '/metrics');
    t.equal(r.status, 405, method);
    t.equal(r.headers.allow, 'GET, HEAD');
    t.equal(r.body, '');
  }
});

t.test('a busy port rejects with "port in use"', async (t) => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const port = (holder.address() as net.AddressInfo).port;
  await t.rejects(serveAgentMetrics('127.0.0.1', port, noBounce), { message: `--metrics-listen 127.0.0.1:${port}: port in use` });
});
