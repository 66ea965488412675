// UdpSocket's send path: one sendmmsg for a batch, and with UDP GSO one message for each run of
// equal-size datagrams to the same peer (the engine seals a peer's TUN batch back to back, and
// full-size TCP segments all pad to the same length).
#include <errno.h>

#include <cstring>

#include "udp_addr.h"
#include "udp_socket.h"

namespace wgp2p {

// Fills tx_.msgs[0, m) for datagrams [first, count) and returns m. With GSO a message takes a run
// of datagrams to one address, all of the first one's size except a shorter last one.
size_t UdpSocket::BuildMessages(size_t first, size_t count) {
  size_t m = 0;
  for (size_t i = first; i < count; m++) {
    size_t n = 1;
    size_t size = tx_.iovs[i].iov_len;
    size_t total = size;
    if (gso_ && size > 0) {
      while (i + n < count && n < kGsoMaxSegments) {
        size_t next = tx_.iovs[i + n].iov_len;
        if (next == 0 || next > size || total + next > kGsoMaxBytes || !SameSockaddr(tx_.names[i + n], tx_.names[i])) break;
        total += next;
        n++;
        if (next < size) break;  // a shorter datagram can only end a run
      }
    }
    msghdr& h = tx_.Point(m, i, n);
    h.msg_namelen = tx_.names[i].ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (n > 1) SetGsoSize(&h, &tx_.ctrl[m], static_cast<uint16_t>(size));
    tx_first_[m] = static_cast<uint32_t>(i);
    tx_segments_[m] = static_cast<uint32_t>(n);
    i += n;
  }
  return m;
}

// Sends datagrams [0, count) with sendmmsg. Never blocks: a full socket buffer (EAGAIN/ENOBUFS)
// drops the rest, as a full NIC queue would; a message the kernel refuses (EMSGSIZE, no route)
// is dropped alone; a refused GSO message turns GSO off and its datagrams go again one by one.
// Returns how many datagrams went.
size_t UdpSocket::SendPrepared(size_t count) {
  size_t messages = BuildMessages(0, count);
  size_t done = 0, sent = 0;
  while (done < messages) {
    int r = sendmmsg(poller_.fd(), &tx_.msgs[done], static_cast<unsigned>(messages - done), MSG_DONTWAIT);
    if (r > 0) {
      for (size_t j = done; j < done + static_cast<size_t>(r); j++) {
        sent += tx_segments_[j];
        if (tx_segments_[j] > 1) gso_sends_++;
      }
      done += static_cast<size_t>(r);
      continue;
    }
    int e = r < 0 ? errno : EAGAIN;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
      dropped_sends_ += count - tx_first_[done];
      break;
    }
    if (tx_segments_[done] > 1 && IsGsoRefusal(e)) {
      gso_ = false;
      messages = BuildMessages(tx_first_[done], count);
      done = 0;
      continue;
    }
    dropped_sends_ += tx_segments_[done];
    done++;
  }
  return sent;
}

}  // namespace wgp2p
