// The JS-facing TUN handle: reads the device from the event loop through an FdPoller,
// a wake-up's packets in one JS call; writes synchronously, never blocking.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "polled_handle.h"

namespace wgp2p {

class TunHandle : public PolledHandle<TunHandle> {
 public:
  static Napi::Function Init(Napi::Env env);

  // new TunHandle(name: string, mtu: number, offload?: boolean); throws Error with .code/.errno.
  // With offload, reads start with a virtio-net header (vnetHdr) and may be large segments
  // (offloadFlags: the TUN_F_* the kernel took).
  // start(onBatch(slab: Buffer, lengths: Uint32Array), onError(err: Error)) and close() come
  // from PolledHandle.
  explicit TunHandle(const Napi::CallbackInfo& info);

 private:
  // One wake-up's packets to onBatch; a read error means the device is gone.
  int ReadBatch() override;
  std::string FailureMessage(const std::string& cause) const override;
  std::string Describe() const override { return "TUN device " + name_; }
  void PrepareReading() override;

  // write(packet: Buffer): boolean, false for a dropped packet (a plain virtio-net header goes
  // first when vnetHdr is on)
  Napi::Value Write(const Napi::CallbackInfo& info);
  // writeWithHeader(data: Buffer): boolean; data starts with its own virtio-net header (a
  // coalesced segment). Only with vnetHdr.
  Napi::Value WriteWithHeader(const Napi::CallbackInfo& info);
  bool WriteAll(const uint8_t* head, size_t head_len, const uint8_t* data, size_t len);

  std::string name_;
  uint64_t dropped_writes_ = 0;
  bool vnet_hdr_ = false;
  unsigned offload_flags_ = 0;
  std::vector<uint8_t> slab_;  // packets of one wake-up, back to back
};

}  // namespace wgp2p
