// NAT-PMP client: a UDP map (suggesting the internal port, or the previous external port on
// renewal), the external address request, deletion with lifetime 0, and the address request
// as the probe.
import {
  decodeNatpmpExternalAddress, decodeNatpmpMap, encodeNatpmpExternalAddress, encodeNatpmpMap,
  NATPMP_RESULT, type NatpmpMapRequest, type NatpmpResult,
} from './natpmp.js';
import { grantedMapping, withSocket, type ClientContext, type MapRequest, type MapResult, type ProtocolClient } from './protocol-client.js';
import { exchange } from './udp-exchange.js';
import { GATEWAY_PORT } from './gateway-wire.js';
import { PortmapError, type Decoded, type PortMapping } from './types.js';

export class NatpmpClient implements ProtocolClient {
  readonly protocol = 'natpmp' as const;
  readonly #ctx: ClientContext;

  constructor(ctx: ClientContext) {
    this.#ctx = ctx;
  }

  async map(req: MapRequest, signal: AbortSignal): Promise<MapResult> {
    const r = await this.#send({ internalPort: req.internalPort, suggestedExternalPort: req.previous?.externalPort ?? req.internalPort, lifetimeS: req.lifetimeS }, signal);
    const address = await this.#externalAddress(signal);
    const mapping = grantedMapping('natpmp', { ...r, externalAddress: address.externalAddress }, req.internalPort);
    return { mapping, epoch: r.epoch };
  }

  async unmap(mapping: PortMapping, signal: AbortSignal): Promise<void> {
    await this.#send({ internalPort: mapping.internalPort, suggestedExternalPort: 0, lifetimeS: 0 }, signal);
  }

  async probe(signal: AbortSignal): Promise<boolean> {
    try {
      await this.#externalAddress(signal);
      return true;
    } catch {
      return false;
    }
  }

  #externalAddress(signal: AbortSignal) {
    return this.#ask(encodeNatpmpExternalAddress(), decodeNatpmpExternalAddress, signal);
  }

  #send(req: NatpmpMapRequest, signal: AbortSignal) {
    return this.#ask(encodeNatpmpMap(req), (d) => decodeNatpmpMap(d, req), signal);
  }

  async #ask<T extends NatpmpResult>(request: Uint8Array, decode: (d: Uint8Array) => Decoded<T>, signal: AbortSignal): Promise<T> {
    const answer = await withSocket(this.#ctx, (socket) =>
      exchange({ socket, clock: this.#ctx.clock, request, to: { address: this.#ctx.gateway, port: GATEWAY_PORT }, decode, onReject: (r) => this.#ctx.onReject('natpmp', r), signal }),
    );
    if (answer.result === NATPMP_RESULT.UNSUPPORTED_VERSION || answer.result === NATPMP_RESULT.UNSUPPORTED_OPCODE) {
      throw new PortmapError('PORTMAP_UNSUPPORTED', `NAT-PMP result ${answer.result}`);
    }
    if (answer.result !== NATPMP_RESULT.SUCCESS) throw new PortmapError('PORTMAP_REFUSED', `NAT-PMP result ${answer.result}`);
    return answer;
  }
}
