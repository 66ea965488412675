// Opening and configuring a Linux TUN interface. Pure syscalls, no N-API, so
// failures come back as SysError (errors.h) with a message a user can act on.
#pragma once

#include <string>

namespace wgp2p {

// Interface names are IFNAMSIZ-1 = 15 bytes at most.
constexpr size_t kMaxIfNameLen = 15;

// What OpenTun got from the kernel for the offloads it was asked to try.
struct TunOffloads {
  bool vnet_hdr = false;  // every read and write carries a virtio-net header
  unsigned flags = 0;     // TUN_F_* the kernel accepted with TUNSETOFFLOAD
};

// Creates (or attaches to) TUN interface `name` with IFF_TUN | IFF_NO_PI,
// makes the fd non-blocking, sets the MTU and brings the link up. With
// `offload`, also IFF_VNET_HDR and TUNSETOFFLOAD (checksum, TSO4/6, USO4/6 where
// the kernel has them; fewer, or none, where it refuses), reported in *offloads.
// Returns the fd and stores the kernel's name for it in *actual_name. Throws
// SysError; on failure nothing is left open.
int OpenTun(const std::string& name, int mtu, std::string* actual_name, bool offload, TunOffloads* offloads);

}  // namespace wgp2p
