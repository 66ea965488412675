#include "udp_addr.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace wgp2p {

namespace {

// "%eth0" or "%3" after a link-local address: the interface index, 0 if unknown.
uint32_t ScopeId(const char* zone) {
  char* end = nullptr;
  unsigned long n = strtoul(zone, &end, 10);
  if (*zone != '\0' && end && *end == '\0') return static_cast<uint32_t>(n);
  return if_nametoindex(zone);
}

}  // namespace

socklen_t MakeSockaddr(const char* text, uint16_t port, bool v6_socket, sockaddr_storage* out) {
  memset(out, 0, sizeof(*out));
  in_addr v4;
  if (inet_pton(AF_INET, text, &v4) == 1) {
    if (!v6_socket) {
      auto* sin = reinterpret_cast<sockaddr_in*>(out);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(port);
      sin->sin_addr = v4;
      return sizeof(sockaddr_in);
    }
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&sin6->sin6_addr.s6_addr[12], &v4, 4);
    return sizeof(sockaddr_in6);
  }
  if (!v6_socket) return 0;
  // inet_pton does not take a zone: split it off ("fe80::1%eth0").
  char bare[kAddrTextMax];
  const char* zone = strchr(text, '%');
  size_t len = zone ? static_cast<size_t>(zone - text) : strlen(text);
  if (len >= sizeof(bare)) return 0;
  memcpy(bare, text, len);
  bare[len] = '\0';
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, bare, &sin6->sin6_addr) != 1) return 0;
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  if (zone) sin6->sin6_scope_id = ScopeId(zone + 1);
  return sizeof(sockaddr_in6);
}

size_t FormatSockaddr(const sockaddr_storage& addr, char* buf, uint16_t* port) {
  if (addr.ss_family == AF_INET) {
    const auto& sin = reinterpret_cast<const sockaddr_in&>(addr);
    *port = ntohs(sin.sin_port);
    inet_ntop(AF_INET, &sin.sin_addr, buf, kAddrTextMax);
    return strlen(buf);
  }
  if (addr.ss_family != AF_INET6) return 0;
  const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(addr);
  *port = ntohs(sin6.sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
    // The engine knows IPv4 peers by their IPv4 address, whichever socket they came in on.
    inet_ntop(AF_INET, &sin6.sin6_addr.s6_addr[12], buf, kAddrTextMax);
    return strlen(buf);
  }
  inet_ntop(AF_INET6, &sin6.sin6_addr, buf, INET6_ADDRSTRLEN);
  size_t len = strlen(buf);
  if (sin6.sin6_scope_id != 0) {
    char name[IF_NAMESIZE];
    const char* zone = if_indextoname(sin6.sin6_scope_id, name);
    if (zone) {
      len += static_cast<size_t>(snprintf(buf + len, kAddrTextMax - len, "%%%s", zone));
    } else {
      len += static_cast<size_t>(snprintf(buf + len, kAddrTextMax - len, "%%%u", sin6.sin6_scope_id));
    }
  }
  return len;
}

uint16_t SockaddrPort(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
}

bool SameSockaddr(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  // The kernel fills the whole sockaddr_in/_in6 (sin_zero and flowinfo included).
  size_t len = a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  return memcmp(&a, &b, len) == 0;
}

}  // namespace wgp2p
