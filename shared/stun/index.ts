// Public surface of the STUN codec and client helpers.
export * from './constants.js';
export * from './attributes.js';
export * from './message.js';
export * from './binding.js';
export * from './client.js';
export * from './discovery.js';
export { formatIp, parseIp, unmapIpv4, type IpBytes, type IpFamily } from '../net/ip-bytes.js';
export { crc32 } from './crc32.js';
