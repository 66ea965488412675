// Creating the engine's UDP socket. Pure syscalls, no N-API, so failures come
// back as SysError (errors.h) with a message a user can act on (like tun_open.h).
#pragma once

#include <cstdint>
#include <string>

namespace wgp2p {

struct UdpOpened {
  int fd;
  bool dual_stack;  // AF_INET6 with IPV6_V6ONLY=0; false: an AF_INET socket
  uint16_t port;    // the bound port (the kernel's choice when asked for 0)
};

// Binds a non-blocking, close-on-exec UDP socket to `port` (0: any) on every
// address: [::] dual-stack when the host has IPv6, else 0.0.0.0. Buffers are
// asked for 4 MiB each way (the kernel caps them at net.core.[rw]mem_max, as
// for node:dgram). No SO_REUSEADDR: a port in use is an error. A non-empty `host`
// (IPv4 or IPv6 text) binds that address only; an IPv4 one gives an AF_INET
// socket. Throws SysError.
UdpOpened OpenUdp(uint16_t port, const std::string& host = "");

}  // namespace wgp2p
