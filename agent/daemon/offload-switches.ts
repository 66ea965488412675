// The environment switches that turn each data-plane offload off (all are on by default where
// the kernel has them), so a benchmark can show what each one gives and a user can rule one out
// when chasing a problem. Read once, when a socket or TUN device is opened.
export const NO_UDP_GSO_ENV = 'WGP2P_NO_UDP_GSO';
export const NO_UDP_GRO_ENV = 'WGP2P_NO_UDP_GRO';
export const NO_TUN_OFFLOAD_ENV = 'WGP2P_NO_TUN_OFFLOAD';

export interface OffloadSwitches {
  /** UDP_SEGMENT: a peer's run of equal-size datagrams leaves in one send. */
  udpGso: boolean;
  /** UDP_GRO: the kernel hands us runs of datagrams coalesced into one buffer. */
  udpGro: boolean;
  /** IFF_VNET_HDR + TUNSETOFFLOAD: large TCP/UDP segments through the TUN device. */
  tunOffload: boolean;
}

export function offloadSwitches(env: NodeJS.ProcessEnv = process.env): OffloadSwitches {
  const off = (name: string) => env[name] === '1';
  return { udpGso: !off(NO_UDP_GSO_ENV), udpGro: !off(NO_UDP_GRO_ENV), tunOffload: !off(NO_TUN_OFFLOAD_ENV) };
}
