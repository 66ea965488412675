#include "tun_handle.h"

#include <errno.h>
#include <sys/uio.h>
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
// struct virtio_net_hdr (the TUN default vnet header size); all zero: a plain packet.
constexpr size_t kVnetHdrLen = 10;
const uint8_t kPlainVnetHdr[kVnetHdrLen] = {};

}  // namespace

Napi::Function TunHandle::Init(Napi::Env env) {
  // Related entries share a line: the device and its drops, the offload, the writes.
  return DefineHandle(env, "TunHandle", {
      FieldAccessor<&TunHandle::name_>("name"), FieldAccessor<&TunHandle::dropped_writes_>("droppedWrites"),
      FieldAccessor<&TunHandle::vnet_hdr_>("vnetHdr"), FieldAccessor<&TunHandle::offload_flags_>("offloadFlags"),
      InstanceMethod<&TunHandle::Write>("write"), InstanceMethod<&TunHandle::WriteWithHeader>("writeWithHeader"),
  });
}

TunHandle::TunHandle(const Napi::CallbackInfo& info)
    : PolledHandle<TunHandle>(info, "read", "wgp2p:tun") {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "TunHandle(name: string, mtu: number, offload?: boolean)");
  }
  bool offload = info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int mtu = info[1].As<Napi::Number>().Int32Value();
  try {
    TunOffloads got;
    poller_.Adopt(OpenTun(name, mtu, &name_, offload, &got));
    vnet_hdr_ = got.vnet_hdr;
    offload_flags_ = got.flags;
  } catch (const SysError& e) {
    ThrowErrnoError(env, e.message, e.errnum);
  }
}

Napi::Value TunHandle::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "write(packet: Buffer)");
  auto packet = info[0].As<Napi::Buffer<uint8_t>>();
  bool ok = vnet_hdr_ ? WriteAll(kPlainVnetHdr, kVnetHdrLen, packet.Data(), packet.Length()) : WriteAll(nullptr, 0, packet.Data(), packet.Length());
  return Napi::Boolean::New(env, ok);
}

Napi::Value TunHandle::WriteWithHeader(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "writeWithHeader(data: Buffer)");
  auto data = info[0].As<Napi::Buffer<uint8_t>>();
  if (!vnet_hdr_ || data.Length() <= kVnetHdrLen) {
    dropped_writes_++;
    return Napi::Boolean::New(env, false);
  }
  return Napi::Boolean::New(env, WriteAll(data.Data(), kVnetHdrLen, data.Data() + kVnetHdrLen, data.Length() - kVnetHdrLen));
}

// One packet (behind `head` when there is one) in one write. Non-blocking: a full queue
// (EAGAIN/ENOBUFS) or a packet the kernel rejects (EINVAL: not IPv4/IPv6, or a virtio-net header
// it does not accept) is a drop, as on any network device.
bool TunHandle::WriteAll(const uint8_t* head, size_t head_len, const uint8_t* data, size_t len) {
  if (poller_.fd() < 0 || len == 0 || len > kMaxPacket) {
    dropped_writes_++;
    return false;
  }
  iovec iov[2] = {{const_cast<uint8_t*>(head), head_len}, {const_cast<uint8_t*>(data), len}};
  int first = head_len > 0 ? 0 : 1;
  ssize_t n;
  do {
    n = writev(poller_.fd(), iov + first, 2 - first);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(head_len + len)) {
    dropped_writes_++;
    return false;
  }
  return true;
}

void TunHandle::PrepareReading() { slab_.resize(kSlabSize); }

int TunHandle::ReadBatch() {
  std::vector<uint32_t> lengths;
  size_t used = 0;
  int read_errno = 0;
  const size_t max_read = kMaxPacket + (vnet_hdr_ ? kVnetHdrLen : 0);
  while (lengths.size() < kMaxBatch && slab_.size() - used >= max_read) {
    ssize_t n = read(poller_.fd(), slab_.data() + used, max_read);
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
