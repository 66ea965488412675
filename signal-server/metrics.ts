// Counters for /metrics. Label values always come from fixed sets chosen by the server (message
// types after validation, error codes, our own reason names), never from client input, so a
// hostile client cannot blow up the number of series.

export interface MetricsSnapshot {
  connectedAgents: number;
  rooms: number;
  members: number;
  framesIn: Record<string, number>;
  framesOut: Record<string, number>;
  rejectedFrames: Record<string, number>;
  disconnects: Record<string, number>;
  refusedConnections: Record<string, number>;
  stunRequests: Record<string, number>;
  relayedBytes: number;
}

export interface Gauges {
  connectedAgents(): number;
  rooms(): number;
  members(): number;
}

class LabelledCounter {
  private readonly values = new Map<string, number>();
  inc(label: string, by = 1): void {
    this.values.set(label, (this.values.get(label) ?? 0) + by);
  }
  get(label: string): number {
    return this.values.get(label) ?? 0;
  }
  toRecord(): Record<string, number> {
    return Object.fromEntries([...this.values].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}

export class Metrics {
  readonly framesIn = new LabelledCounter();
  readonly framesOut = new LabelledCounter();
  readonly rejectedFrames = new LabelledCounter();
  readonly disconnects = new LabelledCounter();
  readonly refusedConnections = new LabelledCounter();
  readonly stunRequests = new LabelledCounter();
  relayedBytes = 0;

  constructor(private readonly gauges: Gauges) {}

  snapshot(): MetricsSnapshot {
    return {
      connectedAgents: this.gauges.connectedAgents(),
      rooms: this.gauges.rooms(),
      members: this.gauges.members(),
      framesIn: this.framesIn.toRecord(),
      framesOut: this.framesOut.toRecord(),
      rejectedFrames: this.rejectedFrames.toRecord(),
      disconnects: this.disconnects.toRecord(),
      refusedConnections: this.refusedConnections.toRecord(),
      stunRequests: this.stunRequests.toRecord(),
      relayedBytes: this.relayedBytes,
    };
  }

  /** Prometheus text exposition format, version 0.0.4. */
  render(): string {
    const s = this.snapshot();
    const out: string[] = [];
    const gauge = (name: string, help: string, value: number) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
    };
    const counter = (name: string, help: string, label: string, values: Record<string, number>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [k, v] of Object.entries(values)) out.push(`${name}{${label}="${k}"} ${v}`);
    };
    gauge('wgp2p_signal_connected_agents', 'Open WebSocket connections.', s.connectedAgents);
    gauge('wgp2p_signal_rooms', 'Rooms with at least one member.', s.rooms);
    gauge('wgp2p_signal_room_members', 'Room memberships over all rooms.', s.members);
    counter('wgp2p_signal_frames_in_total', 'Valid frames received, by message type.', 'type', s.framesIn);
    counter('wgp2p_signal_frames_out_total', 'Frames sent, by message type.', 'type', s.framesOut);
    counter('wgp2p_signal_rejected_frames_total', 'Frames refused, by reason.', 'reason', s.rejectedFrames);
    counter('wgp2p_signal_disconnects_total', 'Closed connections, by reason.', 'reason', s.disconnects);
    counter(
      'wgp2p_signal_refused_connections_total',
      'HTTP upgrades refused before a WebSocket existed, by reason.',
      'reason',
      s.refusedConnections,
    );
    counter('wgp2p_stun_requests_total', 'STUN datagrams, by outcome.', 'result', s.stunRequests);
    out.push(
      '# HELP wgp2p_relay_bytes_total Bytes relayed between agents (no relay yet).',
      '# TYPE wgp2p_relay_bytes_total counter',
      `wgp2p_relay_bytes_total ${s.relayedBytes}`,
    );
    return `${out.join('\n')}\n`;
  }
}
