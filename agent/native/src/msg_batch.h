// The buffers of one recvmmsg or sendmmsg call, shared by UdpSocket's receive and send paths:
// a header per message, and a data iovec and a peer address per datagram. A message takes one
// datagram, or with GSO a run of them; `Control` (GroControl, GsoControl) is its cmsg room.
// Sized once and reused, so a call allocates nothing.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>
#include <vector>

namespace wgp2p {

template <typename Control>
struct MsgBatch {
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iovs;
  std::vector<sockaddr_storage> names;
  std::vector<Control> ctrl;

  void Resize(size_t n) {
    msgs.resize(n);
    iovs.resize(n);
    names.resize(n);
    ctrl.resize(n);
  }

  // Points message `m` at datagrams [first, first + count) and the address of `first`, with no
  // control data; returns its header for the caller to finish.
  msghdr& Point(size_t m, size_t first, size_t count) {
    msghdr& h = msgs[m].msg_hdr;
    memset(&h, 0, sizeof(h));
    h.msg_name = &names[first];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &iovs[first];
    h.msg_iovlen = count;
    return h;
  }

  // Gives message `m` its control buffer for the kernel to fill (a receive's cmsgs).
  void OfferControl(size_t m) {
    msghdr& h = msgs[m].msg_hdr;
    h.msg_control = ctrl[m].bytes;
    h.msg_controllen = sizeof(ctrl[m].bytes);
  }
};

}  // namespace wgp2p
