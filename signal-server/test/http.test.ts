// The plain HTTP side: /healthz, /metrics in Prometheus text format with the figures the issue
// asks for, and clear refusals for everything else.
import dgram from 'node:dgram';
import t from 'tap';
import { stunBindingRequest } from '../../shared/stun/index.js';
import { blob, roomId, startTestServer, TestClient, waitFor } from './helpers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the exposition format: any line it does not understand fails the test. */
function parseProm(text: string): { samples: Sample[]; types: Map<string, string>; bad: string[] } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const bad: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* \S.*$/.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([a-z_]+)="([^"\\\n]*)"\})? (-?\d+(?:\.\d+)?)$/.exec(line);
    if (!m || !types.has(m[1]!)) {
      bad.push(line);
      continue;
    }
    samples.push({ name: m[1]!, labels: m[2] ? { [m[2]]: m[3]! } : {}, value: Number(m[4]) });
  }
  return { samples, types, bad };
}

const value = (samples: Sample[], name: string, label?: [string, string]) =>
  samples.find((s) => s.name === name && (label === undefined || s.labels[label[0]] === label[1]))?.value;

t.test('healthz, metrics and refusals', async (t) => {
  const server = await startTestServer({ stunPort: 0 });
  t.teardown(() => server.close());

  const health = await fetch(`${server.httpUrl}/healthz`);
  t.equal(health.status, 200);
  t.equal(await health.text(), 'ok\n');
  t.equal((await fetch(`${server.httpUrl}/healthz?probe=1`)).status, 200, 'query strings are ignored');

  const room = roomId();
  const [a, b] = await Promise.all([TestClient.join(server.url), TestClient.join(server.url)]);
  t.teardown(() => (a.close(), b.close()));
  for (const c of [a, b]) {
    c.send({ type: 'join', room, announce: blob() });
    await c.next((m) => m.type === 'members');
  }
  a.send('not json');
  await a.next((m) => m.type === 'error');
  const udp = dgram.createSocket('udp4');
  t.teardown(() => udp.close());
  const answered = new Promise((resolve) => udp.once('message', resolve));
  udp.send(stunBindingRequest().packet, server.stun!.port, '127.0.0.1');
  await answered;

  const res = await fetch(`${server.httpUrl}/metrics`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const { samples, types, bad } = parseProm(await res.text());
  t.same(bad, [], 'every line is valid exposition format');
  t.equal(value(samples, 'wgp2p_signal_connected_agents'), 2);
  t.equal(value(samples, 'wgp2p_signal_rooms'), 1);
  t.equal(value(samples, 'wgp2p_signal_room_members'), 2);
  t.equal(value(samples, 'wgp2p_signal_frames_in_total', ['type', 'hello']), 2);
  t.equal(value(samples, 'wgp2p_signal_frames_in_total', ['type', 'join']), 2);
  t.equal(value(samples, 'wgp2p_signal_frames_out_total', ['type', 'member-joined']), 1);
  t.equal(value(samples, 'wgp2p_signal_rejected_frames_total', ['reason', 'BAD_JSON']), 1);
  t.equal(value(samples, 'wgp2p_stun_requests_total', ['result', 'binding']), 1);
  for (const via of ['udp', 'ws']) {
    t.equal(value(samples, 'wgp2p_relayed_packets_total', ['via', via]), 0, `relayed packets via ${via}`);
    t.equal(value(samples, 'wgp2p_relayed_bytes_total', ['via', via]), 0, `relayed bytes via ${via}`);
  }
  t.equal(types.get('wgp2p_relay_dropped_total'), 'counter');
  t.equal(value(samples, 'wgp2p_relay_bindings'), 0);
  for (const name of ['wgp2p_signal_frames_in_total', 'wgp2p_signal_rejected_frames_total', 'wgp2p_stun_requests_total']) {
    t.equal(types.get(name), 'counter', `${name} is a counter`);
  }
  t.equal(types.get('wgp2p_signal_connected_agents'), 'gauge');

  a.close();
  await waitFor(() => server.metrics().connectedAgents === 1);
  const after = parseProm(await (await fetch(`${server.httpUrl}/metrics`)).text()).samples;
  t.equal(value(after, 'wgp2p_signal_connected_agents'), 1, 'gauges follow departures');
  t.equal(value(after, 'wgp2p_signal_disconnects_total', ['reason', 'client_closed']), 1);

  t.equal((await fetch(`${server.httpUrl}/nope`)).status, 404);
  const post = await fetch(`${server.httpUrl}/healthz`, { method: 'POST', body: 'x' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  const plainWs = await fetch(`${server.httpUrl}/ws`);
  t.equal(plainWs.status, 426, 'a plain GET on /ws is told to upgrade');
  t.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200, 'still serving');
});
