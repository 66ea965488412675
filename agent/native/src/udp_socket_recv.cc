// UdpSocket's receive path: what one FdPoller wake-up reads with recvmmsg, handed to JS.
#include <errno.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "udp_addr.h"
#include "udp_socket.h"

namespace wgp2p {

namespace {

// recvmmsg errors that come back on every call: the socket itself is unusable. Others (a
// queued ICMP error, ENOMEM) are consumed by the call that reports them.
bool IsFatalRecvError(int e) { return e == EBADF || e == ENOTSOCK || e == EFAULT || e == EINVAL; }

}  // namespace

int UdpSocket::ReadBatch() {
  std::vector<uint32_t> lengths;
  lengths.reserve(kMaxBatch);
  out_.clear();
  rx_names_.clear();
  int fatal = 0;
  while (lengths.size() < kMaxBatch) {
    size_t want = std::min(kRecvVlen, kMaxBatch - lengths.size());
    for (size_t i = 0; i < want; i++) {
      rx_.Point(i, i, 1);
      if (gro_) rx_.OfferControl(i);
    }
    int n = recvmmsg(poller_.fd(), rx_.msgs.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    if (n < 0) {
      int e = errno;
      if (e == EINTR) continue;
      // EAGAIN: drained. A transient error is dropped; the level-triggered poll brings us
      // back if more is waiting.
      if (IsFatalRecvError(e)) {
        fatal = e;
      } else if (e != EAGAIN && e != EWOULDBLOCK) {
        dropped_receives_++;
      }
      break;
    }
    for (int i = 0; i < n; i++) {
      const mmsghdr& m = rx_.msgs[i];
      if (m.msg_hdr.msg_flags & MSG_TRUNC) {
        dropped_receives_++;  // cannot happen with 64 KiB slots; never pass on part of a datagram
        continue;
      }
      auto* data = static_cast<const uint8_t*>(rx_.iovs[i].iov_base);
      out_.insert(out_.end(), data, data + m.msg_len);
      // A GRO message is a run of datagrams from one sender, all of `segment` bytes but a
      // shorter last one: the same datagrams as without GRO.
      size_t segment = gro_ ? GroSegmentSize(m.msg_hdr) : 0;
      size_t left = m.msg_len;
      if (segment > 0 && left > segment) gro_receives_++;
      do {
        size_t len = segment > 0 && left > segment ? segment : left;
        lengths.push_back(static_cast<uint32_t>(len));
        rx_names_.push_back(rx_.names[i]);
        left -= len;
      } while (left > 0);
    }
    if (static_cast<size_t>(n) < want) break;  // the socket is empty
  }
  if (!lengths.empty() && !Deliver(lengths)) dropped_receives_ += lengths.size();
  return fatal;
}

std::string UdpSocket::FailureMessage(const std::string& cause) const {
  return "receiving on UDP port " + std::to_string(port_) + " failed (" + cause + ")";
}

// Hands one wake-up's datagrams (in out_, rx_names_) to JS in one call. Any failure to build
// the values means no JS can run any more (a stopping environment): the datagrams are dropped.
bool UdpSocket::Deliver(const std::vector<uint32_t>& lengths) {
  napi_env env = Env();
  size_t count = lengths.size();
  napi_value slab, lens, ports, addrs;
  uint32_t* lens_data = nullptr;
  uint32_t* ports_data = nullptr;
  if (!NewSlab(env, out_.data(), out_.size(), &slab) || !NewUint32Array(env, count, &lens, &lens_data) ||
      !NewUint32Array(env, count, &ports, &ports_data) || napi_create_array_with_length(env, count, &addrs) != napi_ok) {
    return false;
  }
  memcpy(lens_data, lengths.data(), count * sizeof(uint32_t));
  napi_value text_value = nullptr;
  for (size_t i = 0; i < count; i++) {
    // A wake-up's datagrams mostly come from one peer: one JS string serves all of them.
    if (i == 0 || !SameSockaddr(rx_names_[i], rx_names_[i - 1])) {
      char text[kAddrTextMax];
      uint16_t port;
      size_t len = FormatSockaddr(rx_names_[i], text, &port);
      if (napi_create_string_utf8(env, text, len, &text_value) != napi_ok) return false;
    }
    if (napi_set_element(env, addrs, static_cast<uint32_t>(i), text_value) != napi_ok) return false;
    ports_data[i] = SockaddrPort(rx_names_[i]);
  }
  return poller_.CallBatch({slab, lens, addrs, ports});
}

}  // namespace wgp2p
