// UdpSocket's receive path and life cycle (the poll, close, environment
// teardown), shaped exactly like TunHandle's so its worker-termination fix
// (an async cleanup hook held until libuv's close callback) carries over.
#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "udp_addr.h"
#include "udp_socket.h"

namespace wgp2p {

void UdpSocket::ReceiveBatch(int poll_status) {
  if (fd_ < 0) return;
  std::vector<uint32_t> lengths;
  lengths.reserve(kMaxBatch);
  out_.clear();
  while (lengths.size() < kMaxBatch) {
    size_t want = std::min(kRecvVlen, kMaxBatch - lengths.size());
    size_t base = lengths.size();
    for (size_t i = 0; i < want; i++) {
      msghdr& h = rx_msgs_[i].msg_hdr;
      memset(&h, 0, sizeof(h));
      h.msg_name = &rx_names_[base + i];  // senders land where the batch needs them
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_iov = &rx_iovs_[i];
      h.msg_iovlen = 1;
    }
    int n = recvmmsg(fd_, rx_msgs_.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      // EAGAIN: drained. Anything else (a queued ICMP error, ENOMEM) is consumed
      // by this call; the level-triggered poll brings us back if more is waiting.
      if (errno != EAGAIN && errno != EWOULDBLOCK) dropped_receives_++;
      break;
    }
    for (int i = 0; i < n; i++) {
      const mmsghdr& m = rx_msgs_[i];
      if (m.msg_hdr.msg_flags & MSG_TRUNC) {
        dropped_receives_++;  // cannot happen with 64 KiB slots; never pass on part of a datagram
        continue;
      }
      // Skipped datagrams leave no hole in the senders either.
      if (lengths.size() != base + i) rx_names_[lengths.size()] = rx_names_[base + i];
      auto* data = static_cast<const uint8_t*>(rx_iovs_[i].iov_base);
      out_.insert(out_.end(), data, data + m.msg_len);
      lengths.push_back(m.msg_len);
    }
    if (static_cast<size_t>(n) < want) break;  // the socket is empty
  }

  Napi::HandleScope scope{Napi::Env(env_)};
  Ref();  // the callback may close() us and drop every other reference
  if (!lengths.empty() && !Deliver(lengths)) dropped_receives_ += lengths.size();
  if (fd_ >= 0 && poll_status < 0) {
    // Not expected for a UDP socket; report once and stop rather than spin.
    StopPolling();
    napi_value message, err;
    std::string text = std::string("polling the UDP socket failed: ") + uv_strerror(poll_status);
    if (napi_create_string_utf8(env_, text.data(), text.size(), &message) == napi_ok &&
        napi_create_error(env_, nullptr, message, &err) == napi_ok) {
      Call(on_error_, {err});
    }
  }
  Unref();
}

// Hands one wake-up's datagrams (in out_, rx_names_) to JS in one call. Uses
// the C API and checks every status instead of node-addon-api's throwing
// wrappers: when a worker is terminated during a wake-up, creating a value
// fails and building the Error to throw would itself abort the process. Any
// failure means no JS can run any more, so the datagrams are just dropped.
bool UdpSocket::Deliver(const std::vector<uint32_t>& lengths) {
  size_t count = lengths.size();
  napi_value slab, lens_ab, lens, ports_ab, ports, addrs;
  void* lens_data = nullptr;
  void* ports_data = nullptr;
  if (napi_create_buffer_copy(env_, out_.size(), out_.empty() ? "" : reinterpret_cast<const char*>(out_.data()), nullptr, &slab) != napi_ok ||
      napi_create_arraybuffer(env_, count * 4, &lens_data, &lens_ab) != napi_ok ||
      napi_create_typedarray(env_, napi_uint32_array, count, lens_ab, 0, &lens) != napi_ok ||
      napi_create_arraybuffer(env_, count * 4, &ports_data, &ports_ab) != napi_ok ||
      napi_create_typedarray(env_, napi_uint32_array, count, ports_ab, 0, &ports) != napi_ok ||
      napi_create_array_with_length(env_, count, &addrs) != napi_ok) {
    return false;
  }
  memcpy(lens_data, lengths.data(), count * 4);
  napi_value text_value = nullptr;
  for (size_t i = 0; i < count; i++) {
    // A wake-up's datagrams mostly come from one peer: one JS string serves all of them.
    if (i == 0 || !SameSockaddr(rx_names_[i], rx_names_[i - 1])) {
      char text[kAddrTextMax];
      uint16_t port;
      size_t len = FormatSockaddr(rx_names_[i], text, &port);
      if (napi_create_string_utf8(env_, text, len, &text_value) != napi_ok) return false;
    }
    if (napi_set_element(env_, addrs, static_cast<uint32_t>(i), text_value) != napi_ok) return false;
    static_cast<uint32_t*>(ports_data)[i] = SockaddrPort(rx_names_[i]);
  }
  Call(on_batch_, {slab, lens, addrs, ports});
  return true;
}

void UdpSocket::Call(Napi::FunctionReference& fn, std::initializer_list<napi_value> args) {
  if (fn.IsEmpty() || !async_) return;
  napi_value recv = Value();
  napi_value result;
  napi_status st = napi_make_callback(env_, static_cast<napi_async_context>(*async_), recv, fn.Value(), args.size(), args.begin(), &result);
  if (st == napi_ok) return;
  // The callback threw: no JS frame to throw into from a libuv callback, so it
  // becomes an 'uncaughtException', like a throwing event handler. (A failure
  // without a pending exception is a stopping environment: nothing to report.)
  bool pending = false;
  napi_value exception;
  if (napi_is_exception_pending(env_, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env_, &exception) == napi_ok) {
    napi_fatal_exception(env_, exception);
  }
}

void UdpSocket::ClosePoller(UdpPoller* poller) {
  if (poller->closing) return;
  poller->closing = true;
  poller->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&poller->poll), [](uv_handle_t* h) {
    auto* p = static_cast<UdpPoller*>(h->data);
    if (p->hook) napi_remove_async_cleanup_hook(p->hook);
    delete p;
  });
}

void UdpSocket::StopPolling() {
  if (poller_) {
    ClosePoller(poller_);
    poller_ = nullptr;
  }
  if (pinned_) {
    pinned_ = false;
    Unref();
  }
}

void UdpSocket::Shutdown() {
  StopPolling();
  // Only after the poll is stopped: libuv must never watch a closed fd.
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  on_batch_.Reset();
  on_error_.Reset();
  async_.reset();
}

void UdpSocket::OnEnvTeardown(napi_async_cleanup_hook_handle, void* arg) {
  // The environment is going away while we still poll: no JS may run now. Stop
  // the poll and close the fd; Node waits for the close callback (it removes
  // this hook) before unloading the addon.
  auto* poller = static_cast<UdpPoller*>(arg);
  UdpSocket* self = poller->owner;
  ClosePoller(poller);
  if (!self) return;
  self->poller_ = nullptr;
  self->pinned_ = false;  // the reference dies with the environment
  if (self->fd_ >= 0) {
    close(self->fd_);
    self->fd_ = -1;
  }
}

}  // namespace wgp2p
