// Counters for /metrics. Label values always come from fixed sets chosen by the server (message
// types after validation, error codes, our own reason names), never from client input, so a
// hostile client cannot blow up the number of series.
import { labelled, renderPrometheus, single } from '../shared/observe/prometheus.js';

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
  /** Packets and payload bytes relayed between members, by the transport they were delivered on. */
  relayedPackets: Record<RelayVia, number>;
  relayedBytes: Record<RelayVia, number>;
  /** Relay packets not forwarded, by reason. */
  relayDropped: Record<string, number>;
  relayBindings: number;
}

export type RelayVia = 'udp' | 'ws';

export interface Gauges {
  connectedAgents(): number;
  rooms(): number;
  members(): number;
}

/** What the packet relay reports itself (its forwarding core keeps these counts). */
export interface RelayGauges {
  bindings(): number;
  /** Drops counted by the forwarding core, by reason. */
  dropped(): ReadonlyMap<string, number>;
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
  readonly relayedPackets = new LabelledCounter();
  readonly relayedBytes = new LabelledCounter();
  /** Relay drops outside the forwarding core (WebSocket side, socket errors). */
  readonly relayDropped = new LabelledCounter();
  /** Set once the relay runs. */
  relay: RelayGauges | undefined;

  constructor(private readonly gauges: Gauges) {}

  /** One relayed packet of `bytes` payload bytes, delivered on `via`. */
  relayed(via: RelayVia, bytes: number): void {
    this.relayedPackets.inc(via);
    this.relayedBytes.inc(via, bytes);
  }

  private relayDrops(): Record<string, number> {
    const all = new Map<string, number>(Object.entries(this.relayDropped.toRecord()));
    for (const [reason, n] of this.relay?.dropped() ?? []) all.set(reason, (all.get(reason) ?? 0) + n);
    return Object.fromEntries([...all].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

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
      relayedPackets: { udp: this.relayedPackets.get('udp'), ws: this.relayedPackets.get('ws') },
      relayedBytes: { udp: this.relayedBytes.get('udp'), ws: this.relayedBytes.get('ws') },
      relayDropped: this.relayDrops(),
      relayBindings: this.relay?.bindings() ?? 0,
    };
  }

  /** Prometheus text exposition format, version 0.0.4. */
  render(): string {
    const s = this.snapshot();
    return renderPrometheus([
      single('wgp2p_signal_connected_agents', 'Open WebSocket connections.', 'gauge', s.connectedAgents),
      single('wgp2p_signal_rooms', 'Rooms with at least one member.', 'gauge', s.rooms),
      single('wgp2p_signal_room_members', 'Room memberships over all rooms.', 'gauge', s.members),
      labelled('wgp2p_signal_frames_in_total', 'Valid frames received, by message type.', 'counter', 'type', s.framesIn),
      labelled('wgp2p_signal_frames_out_total', 'Frames sent, by message type.', 'counter', 'type', s.framesOut),
      labelled('wgp2p_signal_rejected_frames_total', 'Frames refused, by reason.', 'counter', 'reason', s.rejectedFrames),
      labelled('wgp2p_signal_disconnects_total', 'Closed connections, by reason.', 'counter', 'reason', s.disconnects),
      labelled('wgp2p_signal_refused_connections_total', 'HTTP upgrades refused before a WebSocket existed, by reason.', 'counter', 'reason', s.refusedConnections),
      labelled('wgp2p_stun_requests_total', 'STUN datagrams, by outcome.', 'counter', 'result', s.stunRequests),
      labelled('wgp2p_relayed_packets_total', 'WireGuard packets relayed between members, by the transport they were delivered on.', 'counter', 'via', s.relayedPackets),
      labelled('wgp2p_relayed_bytes_total', 'Payload bytes relayed between members, by delivery transport.', 'counter', 'via', s.relayedBytes),
      labelled('wgp2p_relay_dropped_total', 'Relay packets and frames not forwarded, by reason.', 'counter', 'reason', s.relayDropped),
      single('wgp2p_relay_bindings', 'Members bound to the UDP relay.', 'gauge', s.relayBindings),
    ]);
  }
}
