// The JS-facing TUN handle: reads the device from the event loop through an FdPoller,
// a wake-up's packets in one JS call; writes synchronously, never blocking.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fd_poller.h"

namespace wgp2p {

class TunHandle : public Napi::ObjectWrap<TunHandle>, private FdReader {
 public:
  static Napi::Function Init(Napi::Env env);

  // new TunHandle(name: string, mtu: number); throws Error with .code/.errno.
  explicit TunHandle(const Napi::CallbackInfo& info);

 private:
  Napi::Value GetName(const Napi::CallbackInfo& info);
  Napi::Value GetDroppedWrites(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  // start(onBatch(slab: Buffer, lengths: Uint32Array), onError(err: Error))
  void Start(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  int ReadBatch() override;
  std::string FailureMessage(const std::string& cause) const override;

  FdPoller poller_;
  std::string name_;
  uint64_t dropped_writes_ = 0;
  std::vector<uint8_t> slab_;  // packets of one wake-up, back to back
};

}  // namespace wgp2p
