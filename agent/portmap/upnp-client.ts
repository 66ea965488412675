// UPnP IGD client: SSDP search on the LAN (only the gateway's answer counts), the device
// description (only a WAN connection service on the gateway counts), then SOAP AddPortMapping,
// GetExternalIPAddress and DeletePortMapping on its control URL.
import { isPublicIPv4 } from './ipv4.js';
import { withSocket, type ClientContext, type MapRequest, type MapResult, type ProtocolClient } from './protocol-client.js';
import { decodeSsdpAnswer, encodeMSearch, SSDP_MULTICAST_ADDRESS, SSDP_PORT } from './ssdp.js';
import { exchange } from './udp-exchange.js';
import { parseDeviceDescription, parseSoapResponse, soapRequest, UPNP_MAX_DOCUMENT, UPNP_MAX_SOAP_RESPONSE, type SoapAnswer, type WanService } from './upnp-xml.js';
import { PortmapError, type PortMapping } from './types.js';

export const UPNP_HTTP_TIMEOUT_MS = 2000;
/** SSDP answers wait up to MX (1 s) plus the LAN's delay. */
const SSDP_TIMEOUT_MS = 1500;
const SSDP_RETRANSMIT_MS = [500] as const;
const DESCRIPTION = 'wgp2p';
const UPNP_ERROR_CONFLICT = 718;
const UPNP_ERROR_ONLY_PERMANENT_LEASES = 725;
/** Random external ports tried after a conflict on the one we wanted. */
const CONFLICT_RETRIES = 2;
const RANDOM_PORT_MIN = 1024;

export class UpnpClient implements ProtocolClient {
  readonly protocol = 'upnp' as const;
  readonly #ctx: ClientContext;
  #service: WanService | undefined;

  constructor(ctx: ClientContext) {
    this.#ctx = ctx;
  }

  async map(req: MapRequest, signal: AbortSignal): Promise<MapResult> {
    const service = await this.#discover(signal);
    const client = await this.#ctx.udp.localAddressToward(this.#ctx.gateway);
    let lease = req.lifetimeS;
    let port = req.previous?.externalPort ?? req.internalPort;
    for (let attempt = 0; ; attempt++) {
      const answer = await this.#soap(service, 'AddPortMapping', [
        ['NewRemoteHost', ''], ['NewExternalPort', port], ['NewProtocol', 'UDP'], ['NewInternalPort', req.internalPort],
        ['NewInternalClient', client], ['NewEnabled', 1], ['NewPortMappingDescription', DESCRIPTION], ['NewLeaseDuration', lease],
      ], [], signal);
      if (!('fault' in answer)) break;
      if (answer.fault === UPNP_ERROR_CONFLICT && attempt < CONFLICT_RETRIES) {
        port = RANDOM_PORT_MIN + Math.floor(Math.random() * (0x10000 - RANDOM_PORT_MIN));
      } else if (answer.fault === UPNP_ERROR_ONLY_PERMANENT_LEASES && lease !== 0) {
        // Old IGDv1 boxes: a permanent mapping, which close() must delete.
        lease = 0;
      } else {
        this.#service = undefined;
        throw new PortmapError('PORTMAP_REFUSED', `UPnP AddPortMapping error ${answer.fault}`);
      }
    }
    const externalAddress = await this.#externalAddress(service, signal);
    const mapping: PortMapping = { protocol: 'upnp', externalAddress, externalPort: port, internalPort: req.internalPort, lifetimeS: req.lifetimeS };
    return { mapping };
  }

  async unmap(mapping: PortMapping, signal: AbortSignal): Promise<void> {
    const service = await this.#discover(signal);
    const answer = await this.#soap(service, 'DeletePortMapping', [['NewRemoteHost', ''], ['NewExternalPort', mapping.externalPort], ['NewProtocol', 'UDP']], [], signal);
    if ('fault' in answer) throw new PortmapError('PORTMAP_REFUSED', `UPnP DeletePortMapping error ${answer.fault}`);
  }

  async probe(signal: AbortSignal): Promise<boolean> {
    try {
      await this.#externalAddress(await this.#discover(signal), signal);
      return true;
    } catch {
      return false;
    }
  }

  async #externalAddress(service: WanService, signal: AbortSignal): Promise<string> {
    const answer = await this.#soap(service, 'GetExternalIPAddress', [], ['NewExternalIPAddress'], signal);
    if ('fault' in answer) throw new PortmapError('PORTMAP_REFUSED', `UPnP GetExternalIPAddress error ${answer.fault}`);
    const address = answer.values.get('NewExternalIPAddress')!;
    if (!isPublicIPv4(address)) {
      this.#ctx.onReject('upnp', 'private-external');
      throw new PortmapError('PORTMAP_REFUSED', `UPnP external address ${JSON.stringify(address.slice(0, 40))} is not public`);
    }
    return address;
  }

  /** The gateway's WAN connection service, found once and kept until a request fails. */
  async #discover(signal: AbortSignal): Promise<WanService> {
    if (this.#service) return this.#service;
    const { gateway } = this.#ctx;
    const answer = await withSocket(this.#ctx, (socket) =>
      exchange({
        socket,
        clock: this.#ctx.clock,
        request: encodeMSearch(),
        to: { address: SSDP_MULTICAST_ADDRESS, port: SSDP_PORT },
        from: gateway,
        anySourcePort: true,
        decode: (d) => decodeSsdpAnswer(d, gateway),
        onReject: (r) => this.#ctx.onReject('upnp', r),
        timeoutMs: SSDP_TIMEOUT_MS,
        retransmitMs: SSDP_RETRANSMIT_MS,
        signal,
      }),
    );
    const doc = await this.#http({ url: answer.location, method: 'GET', maxBytes: UPNP_MAX_DOCUMENT, timeoutMs: UPNP_HTTP_TIMEOUT_MS }, signal);
    if (doc.status !== 200) throw new PortmapError('PORTMAP_REFUSED', `UPnP description: HTTP ${doc.status}`);
    const service = parseDeviceDescription(doc.body, answer.location, gateway);
    if (!service.ok) {
      this.#ctx.onReject('upnp', service.reason);
      throw new PortmapError('PORTMAP_UNSUPPORTED', `UPnP description refused: ${service.reason}`);
    }
    this.#service = service.value;
    return service.value;
  }

  async #soap(service: WanService, action: string, args: ReadonlyArray<readonly [string, string | number]>, wanted: readonly string[], signal: AbortSignal): Promise<SoapAnswer> {
    const { body, soapAction } = soapRequest(service.serviceType, action, args);
    const res = await this.#http(
      { url: service.controlUrl, method: 'POST', headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: soapAction }, body, maxBytes: UPNP_MAX_SOAP_RESPONSE, timeoutMs: UPNP_HTTP_TIMEOUT_MS },
      signal,
    );
    const answer = parseSoapResponse(res.status, res.body, action, wanted);
    if (!answer.ok) {
      this.#service = undefined;
      this.#ctx.onReject('upnp', answer.reason);
      throw new PortmapError('PORTMAP_REFUSED', `UPnP ${action}: ${answer.reason}`);
    }
    return answer.value;
  }

  async #http(req: Parameters<ClientContext['http']['request']>[0], signal: AbortSignal) {
    if (signal.aborted) throw new PortmapError('PORTMAP_CLOSED', 'port mapper closed');
    try {
      return await this.#ctx.http.request(req);
    } catch (err) {
      this.#service = undefined;
      throw new PortmapError('PORTMAP_TRANSPORT', `UPnP ${req.method} ${req.url}: ${(err as Error).message}`);
    }
  }
}
