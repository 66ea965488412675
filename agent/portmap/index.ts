// The port-mapping client's public API (see port-mapper.ts).
export { PortMapper, probePortMapping, DEFAULT_LEASE_S, type PortMapperOptions, type PortMapperStats, type ProbeResult } from './port-mapper.js';
export { defaultGateway, type DefaultGateway } from './gateway.js';
export { PortmapError, PROTOCOLS, type PortMapping, type PortmapProtocol, type PortmapErrorCode } from './types.js';
