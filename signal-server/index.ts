// The server as a library: startSignalServer for code, tests and benchmarks. The command line
// (`wgp2p server`) is cli/server.ts.
export { startSignalServer } from './server.js';
export type { SignalServerHandle, StartOptions } from './server.js';
export type { HostPort } from '../shared/net/host-port.js';
export type { ServerConfig, Limits } from './config.js';
export { DEFAULT_CONFIG, DEFAULT_LIMITS } from './config.js';
export type { MetricsSnapshot } from './metrics.js';
export type { LogLevel, Logger } from '../shared/log.js';
