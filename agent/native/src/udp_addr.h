// Socket addresses <-> the text form the engine uses for endpoints. Pure
// functions, no N-API, so the hot paths (one call per datagram) stay cheap.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace wgp2p {

// Longest text FormatAddress writes: an IPv6 address, '%' and an interface name.
constexpr size_t kAddrTextMax = 64;

// Fills *out for `text` ("192.0.2.1", "2001:db8::1", "fe80::1%eth0") and `port`.
// A dual-stack socket (v6_socket) takes IPv4 as ::ffff:a.b.c.d; an IPv4 socket
// cannot reach IPv6. Returns the address length, or 0 if `text` is not usable.
socklen_t MakeSockaddr(const char* text, uint16_t port, bool v6_socket, sockaddr_storage* out);

// Writes the text of a received source address into buf (kAddrTextMax bytes):
// IPv4, and IPv4 arriving v4-mapped on a dual-stack socket, as a dotted quad;
// IPv6 as inet_ntop prints it, with %interface for scoped (link-local) ones.
// Returns the text length (0 for an unknown family) and stores the port.
size_t FormatSockaddr(const sockaddr_storage& addr, char* buf, uint16_t* port);

// The port of an AF_INET or AF_INET6 address.
uint16_t SockaddrPort(const sockaddr_storage& addr);

// True when a and b are the same address and port (same family, same bytes).
bool SameSockaddr(const sockaddr_storage& a, const sockaddr_storage& b);

}  // namespace wgp2p
