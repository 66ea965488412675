#include "udp_open.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "errors.h"

namespace wgp2p {

namespace {

constexpr int kBufferBytes = 4 << 20;

// One attempt for one family; returns -1 with errno set, leaving nothing open. `addr` is the
// address to bind (in6_addr or in_addr by family), or null for every address.
int BindFamily(int family, uint16_t port, const void* addr) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int size = kBufferBytes;
  // Best effort: a smaller buffer only means earlier drops under load.
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  socklen_t len;
  if (family == AF_INET6) {
    int off = 0;  // one socket for IPv4 (v4-mapped) and IPv6 peers alike
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_addr = addr ? *static_cast<const in6_addr*>(addr) : in6addr_any;
    len = sizeof(*sin6);
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr = addr ? *static_cast<const in_addr*>(addr) : in_addr{htonl(INADDR_ANY)};
    len = sizeof(*sin);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

SysError PortError(uint16_t port, int e) {
  if (e == EADDRINUSE) return SysError{"UDP port " + std::to_string(port) + " is already in use", e};
  if (e == EACCES) return SysFailure("not allowed to bind UDP port " + std::to_string(port), e);
  return SysFailure("cannot bind UDP port " + std::to_string(port), e);
}

}  // namespace

UdpOpened OpenUdp(uint16_t port, const std::string& host) {
  bool dual = true;
  int fd;
  in6_addr a6;
  in_addr a4;
  if (host.empty()) {
    fd = BindFamily(AF_INET6, port, nullptr);
  } else if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    dual = false;
    fd = BindFamily(AF_INET, port, &a4);
    if (fd < 0) throw PortError(port, errno);
  } else if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    fd = BindFamily(AF_INET6, port, &a6);
    if (fd < 0) throw PortError(port, errno);
  } else {
    throw SysError{"not an IP address to bind: " + host, EINVAL};
  }
  if (fd < 0) {
    int e = errno;
    // No IPv6 on this host (module absent, or disabled so [::] is not an address): use IPv4.
    if (e != EAFNOSUPPORT && e != EADDRNOTAVAIL && e != EPROTONOSUPPORT) throw PortError(port, e);
    dual = false;
    fd = BindFamily(AF_INET, port, nullptr);
    if (fd < 0) throw PortError(port, errno);
  }
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
    int e = errno;
    close(fd);
    throw SysFailure("cannot read the bound UDP port", e);
  }
  uint16_t bound = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6&>(ss).sin6_port)
                                            : ntohs(reinterpret_cast<sockaddr_in&>(ss).sin_port);
  return UdpOpened{fd, dual, bound};
}

}  // namespace wgp2p
