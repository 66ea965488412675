// NAT-PMP (RFC 6886) wire format: the external-address and UDP-map requests and total decoders
// for their answers. NAT-PMP has no nonce, so the decoders hold every other field to what we
// asked (opcode, our internal port) and refuse nonsense mappings.
import { formatIPv4, isPublicIPv4 } from './ipv4.js';
import { accept, reject, type Decoded } from './types.js';
import { GATEWAY_MAX_SIZE, NATPMP_VERSION, PCP_VERSION, RESPONSE_BIT } from './gateway-wire.js';

const NATPMP_OP = { externalAddress: 0, mapUdp: 1 } as const;
const EXTERNAL_ADDRESS_RESPONSE_SIZE = 12;
const MAP_REQUEST_SIZE = 12;
const MAP_RESPONSE_SIZE = 16;

export const NATPMP_RESULT = {
  SUCCESS: 0,
  UNSUPPORTED_VERSION: 1,
  NOT_AUTHORIZED: 2,
  NETWORK_FAILURE: 3,
  OUT_OF_RESOURCES: 4,
  UNSUPPORTED_OPCODE: 5,
} as const;

export function encodeNatpmpExternalAddress(): Uint8Array {
  return Uint8Array.of(NATPMP_VERSION, NATPMP_OP.externalAddress);
}

export interface NatpmpMapRequest {
  readonly internalPort: number;
  readonly suggestedExternalPort: number;
  /** 0 (with suggested port 0) deletes the mapping. */
  readonly lifetimeS: number;
}

export function encodeNatpmpMap(req: NatpmpMapRequest): Uint8Array {
  const buf = new Uint8Array(MAP_REQUEST_SIZE);
  const view = new DataView(buf.buffer);
  buf[0] = NATPMP_VERSION;
  buf[1] = NATPMP_OP.mapUdp;
  view.setUint16(4, req.internalPort);
  view.setUint16(6, req.suggestedExternalPort);
  view.setUint32(8, req.lifetimeS >>> 0);
  return buf;
}

export interface NatpmpResult {
  readonly result: number;
  readonly epoch: number;
}
export interface NatpmpExternalAddress extends NatpmpResult {
  readonly externalAddress: string;
}
export interface NatpmpMapResponse extends NatpmpResult {
  readonly internalPort: number;
  readonly externalPort: number;
  readonly lifetimeS: number;
}

function decodeCommon(data: Uint8Array, opcode: number, size: number): Decoded<NatpmpResult> {
  if (data.length > GATEWAY_MAX_SIZE) return reject('oversized');
  if (data.length < 2) return reject('short');
  // A PCP-only server answers our version 0 with its own version and "unsupported version".
  if (data[0] === PCP_VERSION && data.length >= 4 && (data[1]! & ~RESPONSE_BIT) === opcode && data[3] === NATPMP_RESULT.UNSUPPORTED_VERSION) {
    return accept({ result: NATPMP_RESULT.UNSUPPORTED_VERSION, epoch: 0 });
  }
  if (data[0] !== NATPMP_VERSION) return reject('bad-version');
  if ((data[1]! & RESPONSE_BIT) === 0) return reject('not-response');
  if (data[1] !== (RESPONSE_BIT | opcode)) return reject('bad-opcode');
  if (data.length < 8) return reject('short');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const result = view.getUint16(2);
  // A failure carries only the common header; a success must be complete.
  if (result === NATPMP_RESULT.SUCCESS && data.length < size) return reject('short');
  return accept({ result, epoch: view.getUint32(4) });
}

export function decodeNatpmpExternalAddress(data: Uint8Array): Decoded<NatpmpExternalAddress> {
  const head = decodeCommon(data, NATPMP_OP.externalAddress, EXTERNAL_ADDRESS_RESPONSE_SIZE);
  if (!head.ok) return head;
  if (head.value.result !== NATPMP_RESULT.SUCCESS) return accept({ ...head.value, externalAddress: '' });
  const externalAddress = formatIPv4(data, 8);
  if (!isPublicIPv4(externalAddress)) return reject('private-external');
  return accept({ ...head.value, externalAddress });
}

export function decodeNatpmpMap(data: Uint8Array, req: NatpmpMapRequest): Decoded<NatpmpMapResponse> {
  const head = decodeCommon(data, NATPMP_OP.mapUdp, MAP_RESPONSE_SIZE);
  if (!head.ok) return head;
  if (head.value.result !== NATPMP_RESULT.SUCCESS) return accept({ ...head.value, internalPort: 0, externalPort: 0, lifetimeS: 0 });
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const response = { ...head.value, internalPort: view.getUint16(8), externalPort: view.getUint16(10), lifetimeS: view.getUint32(12) };
  if (response.internalPort !== req.internalPort) return reject('port-mismatch');
  if (req.lifetimeS === 0) return accept(response);
  if (response.externalPort === 0) return reject('bad-port');
  if (response.lifetimeS === 0) return reject('zero-lifetime');
  return accept(response);
}
