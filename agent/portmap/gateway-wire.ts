// What PCP (RFC 6887) and NAT-PMP (RFC 6886) share on the wire. PCP took over NAT-PMP's port, so
// one gateway port answers both; the first byte (the version) tells them apart, and both set the
// opcode's high bit in an answer.
export const GATEWAY_PORT = 5351;
export const NATPMP_VERSION = 0;
export const PCP_VERSION = 2;
export const RESPONSE_BIT = 0x80;
/** RFC 6887 §7: no PCP message is larger; NAT-PMP's are far smaller. */
export const GATEWAY_MAX_SIZE = 1100;
