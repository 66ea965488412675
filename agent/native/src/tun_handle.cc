#include "tun_handle.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>

#include "errors.h"
#include "tun_open.h"

namespace wgp2p {

namespace {

// Largest packet a TUN read can return (IP total length is 16 bits).
constexpr size_t kMaxPacket = 65535;
// Packets per wake-up: bounds the time spent here so UDP I/O gets its turn.
// The poll is level-triggered, so leftovers wake us again on the next tick.
constexpr size_t kMaxBatch = 256;
// Room for a full batch of ordinary (<= ~3.8 KB) packets; a read needs
// kMaxPacket free bytes, so huge packets just make batches shorter.
constexpr size_t kSlabSize = 1 << 20;

}  // namespace

Napi::Function TunHandle::Init(Napi::Env env) {
  return DefineClass(env, "TunHandle",
                     {
                         InstanceAccessor<&TunHandle::GetName>("name"),
                         InstanceAccessor<&TunHandle::GetDroppedWrites>("droppedWrites"),
                         InstanceMethod<&TunHandle::Write>("write"),
                         InstanceMethod("start", &TunHandle::Start),
                         InstanceMethod("close", &TunHandle::Close),
                     });
}

TunHandle::TunHandle(const Napi::CallbackInfo& info)
    : PolledHandle<TunHandle>(info, "read", "wgp2p:tun") {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "TunHandle(name: string, mtu: number)");
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int mtu = info[1].As<Napi::Number>().Int32Value();
  try {
    poller_.Adopt(OpenTun(name, mtu, &name_));
  } catch (const TunError& e) {
    ThrowErrnoError(env, e.message, e.errnum);
  }
}

Napi::Value TunHandle::GetName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }

Napi::Value TunHandle::GetDroppedWrites(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(dropped_writes_));
}

Napi::Value TunHandle::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "write(packet: Buffer)");
  auto packet = info[0].As<Napi::Buffer<uint8_t>>();
  size_t len = packet.Length();
  if (poller_.fd() < 0 || len == 0 || len > kMaxPacket) {
    dropped_writes_++;
    return Napi::Boolean::New(env, false);
  }
  // Non-blocking: a full queue (EAGAIN/ENOBUFS) or a packet the kernel rejects
  // (EINVAL, not IPv4/IPv6) is a drop, as on any network device.
  ssize_t n;
  do {
    n = write(poller_.fd(), packet.Data(), len);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(len)) {
    dropped_writes_++;
    return Napi::Boolean::New(env, false);
  }
  return Napi::Boolean::New(env, true);
}

void TunHandle::PrepareReading() { slab_.resize(kSlabSize); }

int TunHandle::ReadBatch() {
  std::vector<uint32_t> lengths;
  size_t used = 0;
  int read_errno = 0;
  while (lengths.size() < kMaxBatch && slab_.size() - used >= kMaxPacket) {
    ssize_t n = read(poller_.fd(), slab_.data() + used, kMaxPacket);
    if (n > 0) {
      lengths.push_back(static_cast<uint32_t>(n));
      used += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      // Any error but EAGAIN means the device is gone (EBADFD after `ip link del`).
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) read_errno = errno;
      break;
    }
  }
  if (!lengths.empty()) {
    napi_value slab, lens;
    uint32_t* lens_data = nullptr;
    if (NewSlab(Env(), slab_.data(), used, &slab) && NewUint32Array(Env(), lengths.size(), &lens, &lens_data)) {
      std::copy(lengths.begin(), lengths.end(), lens_data);
      poller_.CallBatch({slab, lens});
    }
  }
  return read_errno;
}

std::string TunHandle::FailureMessage(const std::string& cause) const {
  return "reading from TUN device " + name_ + " failed (" + cause + "); the interface was probably deleted";
}

}  // namespace wgp2p
