// The datagrams of the WireGuard socket that are not WireGuard: STUN answers, disco probes, and
// relay packets (answers and deliveries from our relays or, as a bounce, members' binds and data);
// and the WebSocket relay's binary frames. Each goes to the part that owns it.
import type { Endpoint } from '../../shared/net/address.js';
import { dataPayloadOffset, decodeRelayPacket, decodeWsFrame, RELAY_BIND, RELAY_BOUND, RELAY_CHALLENGE, RELAY_UNREACHABLE } from '../../shared/wire/relay.js';
import { DataIdReader } from '../../shared/wire/relay-data.js';
import type { StunClient } from '../../shared/stun/client.js';
import { classifyDatagram } from './paths/direct/disco.js';
import type { PathKeeper } from './paths/direct/path-keeper.js';
import type { RelayLinks } from './paths/relay/relay-links.js';
import type { RelayPaths } from './paths/relay/relay-paths.js';
import type { Bounce } from './roles/bounce.js';
import type { JoinClock } from './ports.js';

export interface DatagramContext {
  stun: StunClient;
  paths: PathKeeper;
  links: RelayLinks;
  relayed: RelayPaths;
  bounce: Bounce | undefined;
  clock: JoinClock;
  count(what: string): void;
}

export class DatagramInput {
  private readonly ids = new DataIdReader();

  constructor(private readonly c: DatagramContext) {}

  /** True when the datagram was ours; WireGuard and junk go to the engine. */
  onDatagram(data: Buffer, from: Endpoint, guarded: (fn: () => boolean) => boolean | undefined): boolean {
    const kind = classifyDatagram(data);
    if (kind === 'wireguard') return false; // the hot path: nothing else to do here
    return guarded(() => this.onOther(kind, data, from)) ?? true;
  }

  private onOther(kind: ReturnType<typeof classifyDatagram>, data: Buffer, from: Endpoint): boolean {
    switch (kind) {
      case 'wireguard':
      case 'junk':
        return false;
      case 'stun':
        if (!this.c.stun.handle(data, from)) this.c.count('stun_unexpected');
        return true;
      case 'disco':
        this.c.paths.onDisco(data, from);
        return true;
      case 'relay':
        this.onRelay(data, from);
        return true;
    }
  }

  private onRelay(data: Buffer, from: Endpoint): void {
    const c = this.c;
    // The hot path, DATA relayed to us or through our bounce: no decoding into objects, the
    // sender's id read once per run.
    const payloadAt = dataPayloadOffset(data);
    if (payloadAt >= 0) {
      const id = this.ids.read(data, payloadAt);
      if (!id) return c.count('relay_malformed');
      const link = c.links.byEndpoint(from);
      if (link) return c.relayed.onRelayed(link, id, data.subarray(payloadAt), c.clock.now());
      if (c.bounce) return c.bounce.receive(data, from, c.clock.now());
      return c.count('relay_unexpected');
    }
    const p = decodeRelayPacket(data);
    if (!p) return c.count('relay_malformed');
    const now = c.clock.now();
    if (p.type === RELAY_BOUND) return c.links.onBound(p.txid, from, now);
    if (p.type === RELAY_CHALLENGE) return c.links.onChallenge(p.txid, p.cookie, from, now);
    if (p.type === RELAY_UNREACHABLE) {
      const relay = c.links.byEndpoint(from);
      if (relay) return c.relayed.onUnreachable(relay, p.id, now);
    }
    if (c.bounce && p.type === RELAY_BIND) return c.bounce.receive(data, from, now);
    c.count('relay_unexpected');
  }

  /** A binary frame from the server: a packet relayed over the WebSocket. */
  onWsFrame(frame: Buffer): void {
    const f = decodeWsFrame(frame);
    const link = this.c.links.get('ws');
    if (!f || !link) return this.c.count('relay_malformed');
    this.c.relayed.onRelayed(link, f.id, f.payload, this.c.clock.now());
  }
}
