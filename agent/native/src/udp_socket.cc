// UdpSocket: construction, the send path and the life cycle (udp_socket_recv.cc receives).
#include "udp_socket.h"

#include <errno.h>
#include <stdlib.h>

#include <cstring>

#include "bytes.h"
#include "errors.h"
#include "udp_addr.h"
#include "udp_open.h"

namespace wgp2p {

namespace {

// Set to 1 when the addon loads to get the test-only methods.
constexpr const char* kTestHooksEnv = "WGP2P_TEST_HOOKS";
// Largest errno injectPollError takes (libuv's statuses stop there too).
constexpr int kMaxErrno = 4095;

bool TestHooksEnabled() {
  const char* v = getenv(kTestHooksEnv);
  return v && strcmp(v, "1") == 0;
}

}  // namespace

Napi::Function UdpSocket::Init(Napi::Env env) {
  // Related entries share a line: the binding, drops, each offload with its use, the sends.
  Props props = {
      FieldAccessor<&UdpSocket::port_>("port"), FieldAccessor<&UdpSocket::dual_stack_>("dualStack"),
      FieldAccessor<&UdpSocket::dropped_sends_>("droppedSends"), FieldAccessor<&UdpSocket::dropped_receives_>("droppedReceives"),
      FieldAccessor<&UdpSocket::gso_>("gso"), FieldAccessor<&UdpSocket::gso_sends_>("gsoSends"),
      FieldAccessor<&UdpSocket::gro_>("gro"), FieldAccessor<&UdpSocket::gro_receives_>("groReceives"),
      InstanceMethod<&UdpSocket::Send>("send"), InstanceMethod<&UdpSocket::SendBatch>("sendBatch"),
      InstanceMethod<&UdpSocket::SetMark>("setMark"),
  };
  if (TestHooksEnabled()) {
    props.push_back(InstanceMethod<&UdpSocket::InjectPollError>("injectPollError"));
    props.push_back(InstanceMethod<&UdpSocket::RefuseGso>("refuseGso"));
  }
  return DefineHandle(env, "UdpSocket", props);
}

void UdpSocket::SetMark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "setMark(mark: number)");
  double mark = info[0].As<Napi::Number>().DoubleValue();
  if (!(mark >= 0 && mark <= 4294967295.0) || mark != static_cast<double>(static_cast<uint32_t>(mark))) {
    throw Napi::RangeError::New(env, "fwmark must be an integer from 0 to 4294967295");
  }
  if (poller_.fd() < 0) ThrowErrnoError(env, "socket is closed", EBADF);
  uint32_t value = static_cast<uint32_t>(mark);
  if (setsockopt(poller_.fd(), SOL_SOCKET, SO_MARK, &value, sizeof(value)) < 0) {
    int e = errno;
    ThrowErrnoError(env, "cannot set fwmark (SO_MARK): " + ErrnoText(e), e);
  }
}

void UdpSocket::InjectPollError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int e = info.Length() < 1 || !info[0].IsNumber() ? 0 : info[0].As<Napi::Number>().Int32Value();
  if (e <= 0 || e > kMaxErrno) throw Napi::RangeError::New(env, "injectPollError(errno: a positive errno number)");
  if (!poller_.InjectError(e)) throw Napi::Error::New(env, "UDP socket is not reading");
}

UdpSocket::UdpSocket(const Napi::CallbackInfo& info)
    : PolledHandle<UdpSocket>(info, "recvmmsg", "wgp2p:udp") {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber() || (info.Length() > 1 && !info[1].IsObject() && !info[1].IsUndefined())) {
    throw Napi::TypeError::New(env, "UdpSocket(port: number, options?: { gso?: boolean, gro?: boolean, host?: string })");
  }
  double port = info[0].As<Napi::Number>().DoubleValue();
  if (!(port >= 0 && port <= 65535) || port != static_cast<int>(port)) {
    throw Napi::RangeError::New(env, "UDP port must be an integer from 0 to 65535");
  }
  std::string host;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Value h = info[1].As<Napi::Object>().Get("host");
    if (h.IsString()) host = h.As<Napi::String>().Utf8Value();
    else if (!h.IsUndefined()) throw Napi::TypeError::New(env, "UdpSocket: host must be a string");
  }
  try {
    UdpOpened s = OpenUdp(static_cast<uint16_t>(port), host);
    poller_.Adopt(s.fd);
    dual_stack_ = s.dual_stack;
    port_ = s.port;
  } catch (const SysError& e) {
    ThrowErrnoError(env, e.message, e.errnum);
  }
  // An offload is wanted unless the caller says false; then used only if the kernel has it.
  auto wanted = [&](const char* key) {
    if (info.Length() < 2 || !info[1].IsObject()) return true;
    Napi::Value v = info[1].As<Napi::Object>().Get(key);
    return !(v.IsBoolean() && !v.As<Napi::Boolean>().Value());
  };
  gso_ = wanted("gso") && GsoSupported(poller_.fd());
  gro_ = wanted("gro") && EnableGro(poller_.fd());
  tx_.Resize(kSendVlen);
  tx_first_.resize(kSendVlen);
  tx_segments_.resize(kSendVlen);
}

void UdpSocket::RefuseGso(const Napi::CallbackInfo& info) {
  int on = 1;
  if (poller_.fd() < 0 || setsockopt(poller_.fd(), SOL_SOCKET, SO_NO_CHECK, &on, sizeof(on)) < 0) {
    ThrowErrnoError(info.Env(), "cannot set SO_NO_CHECK", errno);
  }
}

Napi::Value UdpSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[1].IsString() || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "send(data: Uint8Array, address: string, port: number)");
  }
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!BytesOf(env, info[0], &data, &len)) throw Napi::TypeError::New(env, "send(data: Uint8Array, ...)");
  char text[kAddrTextMax];
  size_t text_len = 0;
  napi_get_value_string_utf8(env, info[1], text, sizeof(text), &text_len);
  uint32_t port = info[2].As<Napi::Number>().Uint32Value();
  if (poller_.fd() < 0 || port > 65535 || MakeSockaddr(text, static_cast<uint16_t>(port), dual_stack_, &tx_.names[0]) == 0) {
    dropped_sends_++;
    return Napi::Boolean::New(env, false);
  }
  tx_.iovs[0] = iovec{data, len};
  return Napi::Boolean::New(env, SendPrepared(1) == 1);
}

Napi::Value UdpSocket::SendBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArray() || !info[1].IsArray() || !(info[2].IsArray() || info[2].IsTypedArray())) {
    throw Napi::TypeError::New(env, "sendBatch(data: Uint8Array[], addresses: string[], ports: number[])");
  }
  auto datas = info[0].As<Napi::Array>();
  auto addrs = info[1].As<Napi::Array>();
  napi_value ports = info[2];
  uint32_t n = datas.Length();
  if (addrs.Length() < n) throw Napi::RangeError::New(env, "sendBatch: fewer addresses than datagrams");
  if (poller_.fd() < 0) {
    dropped_sends_ += n;
    return Napi::Number::New(env, 0);
  }
  // Most datagrams of a batch go to one peer: parse an address only when it changes.
  char prev_text[kAddrTextMax] = "";
  uint32_t prev_port = 0;
  socklen_t prev_len = 0;
  size_t sent = 0, queued = 0;
  for (uint32_t i = 0; i < n; i++) {
    Napi::HandleScope scope(env);  // three handles per item: keep them from piling up
    napi_value d, a, p;
    napi_get_element(env, datas, i, &d);
    napi_get_element(env, addrs, i, &a);
    napi_get_element(env, ports, i, &p);
    uint8_t* data = nullptr;
    size_t len = 0;
    char text[kAddrTextMax];
    size_t text_len = 0;
    uint32_t port = 0;
    if (!BytesOf(env, d, &data, &len) || napi_get_value_string_utf8(env, a, text, sizeof(text), &text_len) != napi_ok ||
        napi_get_value_uint32(env, p, &port) != napi_ok || port > 65535) {
      dropped_sends_++;
      continue;
    }
    sockaddr_storage& name = tx_.names[queued];
    // The previous item's address is in the slot before (the last one right after a flush).
    if (prev_len != 0 && port == prev_port && strcmp(text, prev_text) == 0) {
      name = tx_.names[queued == 0 ? kSendVlen - 1 : queued - 1];
    } else {
      prev_len = MakeSockaddr(text, static_cast<uint16_t>(port), dual_stack_, &name);
      if (prev_len == 0) {
        dropped_sends_++;  // not an address, or IPv6 on an IPv4-only host
        continue;
      }
      memcpy(prev_text, text, text_len + 1);
      prev_port = port;
    }
    tx_.iovs[queued] = iovec{data, len};
    if (++queued == kSendVlen) {
      sent += SendPrepared(queued);
      queued = 0;
    }
  }
  if (queued > 0) sent += SendPrepared(queued);
  return Napi::Number::New(env, static_cast<double>(sent));
}

void UdpSocket::PrepareReading() {
  // new[] without () leaves the slots untouched, so only pages that receive data get memory.
  slots_.reset(new uint8_t[kSlot * kRecvVlen]);
  rx_.Resize(kRecvVlen);
  rx_names_.reserve(kMaxBatch);
  for (size_t i = 0; i < kRecvVlen; i++) rx_.iovs[i] = iovec{slots_.get() + i * kSlot, kSlot};
  out_.reserve(kMaxBatch * 2048);
}

}  // namespace wgp2p
