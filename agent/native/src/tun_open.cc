#include "tun_open.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errors.h"

namespace wgp2p {

namespace {

// Closes an fd on scope exit unless released: every error path below throws.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) close(fd_);
  }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void Fail(const std::string& what, int e) { throw SysFailure(what, e); }

void CopyName(struct ifreq* ifr, const std::string& name) {
  memset(ifr, 0, sizeof(*ifr));
  memcpy(ifr->ifr_name, name.data(), name.size());  // size checked by caller
}

void SetMtuAndUp(const std::string& name, int mtu) {
  // Interface ioctls need some socket; a datagram one is the cheapest.
  FdGuard sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) Fail("cannot create a socket to configure " + name, errno);

  struct ifreq ifr;
  CopyName(&ifr, name);
  ifr.ifr_mtu = mtu;
  if (ioctl(sock.get(), SIOCSIFMTU, &ifr) < 0) {
    int e = errno;
    if (e == EINVAL) Fail("MTU " + std::to_string(mtu) + " is not valid for " + name, e);
    Fail("setting MTU " + std::to_string(mtu) + " on " + name + " failed", e);
  }

  CopyName(&ifr, name);
  if (ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) Fail("reading the flags of " + name + " failed", errno);
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0) Fail("bringing " + name + " up failed", errno);
}

// Asks for the richest offload set the kernel takes: USO came in Linux 6.2, TSO and checksum
// offload long before. Returns the flags set, 0 when even checksum offload is refused.
unsigned SetOffloads(int fd) {
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif
  const unsigned tries[] = {TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, TUN_F_CSUM};
  for (unsigned flags : tries) {
    if (ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned long>(flags)) == 0) return flags;
  }
  return 0;
}

}  // namespace

int OpenTun(const std::string& name, int mtu, std::string* actual_name, bool offload, TunOffloads* offloads) {
  if (name.empty() || name.size() > kMaxIfNameLen) {
    throw SysError{"invalid TUN interface name \"" + name + "\": it must be 1 to 15 characters long", 0};
  }
  if (name.find('\0') != std::string::npos) {
    throw SysError{"invalid TUN interface name: it contains a NUL byte", 0};
  }

  FdGuard fd(open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    int e = errno;
    if (e == ENOENT || e == ENODEV || e == ENXIO) Fail("/dev/net/tun is missing (load the tun module)", e);
    if (e == EACCES || e == EPERM) Fail("opening /dev/net/tun needs root or CAP_NET_ADMIN", e);
    Fail("opening /dev/net/tun failed", e);
  }

  struct ifreq ifr;
  CopyName(&ifr, name);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
  if (ioctl(fd.get(), TUNSETIFF, &ifr) < 0) {
    int e = errno;
    if (e == EPERM || e == EACCES) Fail("creating TUN device " + name + " needs root or CAP_NET_ADMIN", e);
    if (e == EBUSY) Fail("interface " + name + " is busy (already in use)", e);
    if (e == EINVAL) {
      Fail("cannot create TUN device " + name + ": the name is invalid or an interface of another type already has it", e);
    }
    Fail("creating TUN device " + name + " failed", e);
  }
  std::string kernel_name(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  *offloads = TunOffloads{};
  if (offload) {
    // With the header but no offloads reads and writes still work (the header just says
    // "nothing to do"), so a refusal here is no reason to fail.
    offloads->vnet_hdr = true;
    offloads->flags = SetOffloads(fd.get());
  }

  SetMtuAndUp(kernel_name, mtu);
  *actual_name = kernel_name;
  return fd.release();  // closing it on failure above removed the device again
}

}  // namespace wgp2p
