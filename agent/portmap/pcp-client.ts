// PCP client: MAP for the agent's UDP port, renewed with the same nonce, deleted with
// lifetime 0; ANNOUNCE as the probe.
import { decodePcpAnnounce, decodePcpMap, encodePcpAnnounce, encodePcpMap, newPcpNonce, PCP_RESULT, type PcpMapRequest } from './pcp.js';
import { grantedMapping, withSocket, type ClientContext, type MapRequest, type MapResult, type ProtocolClient } from './protocol-client.js';
import { exchange } from './udp-exchange.js';
import { GATEWAY_PORT } from './gateway-wire.js';
import { PortmapError, type PortMapping } from './types.js';

const RESULT_NAMES = new Map<number, string>(Object.entries(PCP_RESULT).map(([k, v]) => [v, k]));

export class PcpClient implements ProtocolClient {
  readonly protocol = 'pcp' as const;
  readonly #ctx: ClientContext;
  /** One nonce per mapping: renewals and the deletion must repeat it. */
  #nonce = newPcpNonce();

  constructor(ctx: ClientContext) {
    this.#ctx = ctx;
  }

  async map(req: MapRequest, signal: AbortSignal): Promise<MapResult> {
    if (!req.previous) this.#nonce = newPcpNonce();
    const r = await this.#send(
      {
        nonce: this.#nonce,
        internalPort: req.internalPort,
        lifetimeS: req.lifetimeS,
        clientAddress: await this.#ctx.udp.localAddressToward(this.#ctx.gateway),
        ...(req.previous ? { suggestedExternalPort: req.previous.externalPort, suggestedExternalAddress: req.previous.externalAddress } : {}),
      },
      signal,
    );
    const mapping = grantedMapping('pcp', r, req.internalPort);
    return { mapping, epoch: r.epoch };
  }

  async unmap(mapping: PortMapping, signal: AbortSignal): Promise<void> {
    await this.#send(
      { nonce: this.#nonce, internalPort: mapping.internalPort, lifetimeS: 0, clientAddress: await this.#ctx.udp.localAddressToward(this.#ctx.gateway) },
      signal,
    );
  }

  async probe(signal: AbortSignal): Promise<boolean> {
    try {
      const request = encodePcpAnnounce(await this.#ctx.udp.localAddressToward(this.#ctx.gateway));
      const answer = await withSocket(this.#ctx, (socket) =>
        exchange({ socket, clock: this.#ctx.clock, request, to: { address: this.#ctx.gateway, port: GATEWAY_PORT }, decode: decodePcpAnnounce, onReject: (r) => this.#ctx.onReject('pcp', r), signal }),
      );
      return !('versionRefused' in answer) && answer.result !== PCP_RESULT.UNSUPP_VERSION;
    } catch {
      return false;
    }
  }

  async #send(req: PcpMapRequest, signal: AbortSignal) {
    const request = encodePcpMap(req);
    const answer = await withSocket(this.#ctx, (socket) =>
      exchange({
        socket,
        clock: this.#ctx.clock,
        request,
        to: { address: this.#ctx.gateway, port: GATEWAY_PORT },
        decode: (d) => decodePcpMap(d, req),
        onReject: (r) => this.#ctx.onReject('pcp', r),
        signal,
      }),
    );
    if ('versionRefused' in answer) throw new PortmapError('PORTMAP_UNSUPPORTED', 'the gateway speaks NAT-PMP, not PCP');
    if (answer.result === PCP_RESULT.UNSUPP_VERSION || answer.result === PCP_RESULT.UNSUPP_OPCODE) {
      throw new PortmapError('PORTMAP_UNSUPPORTED', `PCP ${RESULT_NAMES.get(answer.result)}`);
    }
    if (answer.result !== PCP_RESULT.SUCCESS) {
      throw new PortmapError('PORTMAP_REFUSED', `PCP ${RESULT_NAMES.get(answer.result) ?? `result ${answer.result}`}`);
    }
    return answer;
  }
}
