// `wgp2p join --metrics-listen HOST:PORT`: Prometheus text on /metrics, so a bounce peer can be
// watched like the server (relayed packets and bytes, drops by reason, live bindings). Read-only,
// GET/HEAD only, nothing else served.
import http from 'node:http';
import type { RelayStats } from '../../../shared/relay/relay-switch.js';
import { labelled, renderPrometheus, single, type MetricFamily } from '../../../shared/observe/prometheus.js';

export interface AgentMetricsSource {
  relay(): { stats: RelayStats; bindings: number } | undefined;
  peers(): { direct: number; relayed: number; total: number };
}

export function renderAgentMetrics(src: AgentMetricsSource): string {
  const p = src.peers();
  const paths = { direct: p.direct, relay: p.relayed, none: p.total - p.direct - p.relayed };
  const families: MetricFamily[] = [labelled('wgp2p_peers', 'Room members by the path we have to them.', 'gauge', 'path', paths)];
  const r = src.relay();
  if (r) {
    families.push(
      labelled('wgp2p_relayed_packets_total', 'Packets this bounce forwarded between members.', 'counter', 'via', { udp: r.stats.packets }),
      labelled('wgp2p_relayed_bytes_total', 'Payload bytes this bounce forwarded between members.', 'counter', 'via', { udp: r.stats.bytes }),
      labelled('wgp2p_relay_dropped_total', 'Relay datagrams dropped, by reason.', 'counter', 'reason', r.stats.dropped),
      single('wgp2p_relay_bindings', 'Members bound to this bounce now.', 'gauge', r.bindings),
    );
  }
  return renderPrometheus(families);
}

/** Serves /metrics on host:port; resolves once listening, rejects with a clear error if it cannot. */
export async function serveAgentMetrics(host: string, port: number, src: AgentMetricsSource): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const body = renderAgentMetrics(src);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body);
  });
  server.headersTimeout = 5_000;
  server.requestTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`--metrics-listen ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'port in use' : (e.code ?? e.message)}`)));
    server.listen(port, host, () => resolve());
  });
  server.on('error', () => undefined);
  return server;
}
