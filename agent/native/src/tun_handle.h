// The JS-facing TUN handle: owns the fd, reads it from the event loop with
// uv_poll (no threadpool, no blocking), writes synchronously.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wgp2p {

class TunHandle;

// The uv_poll_t and what libuv needs until its close callback: it outlives the
// TunHandle when closed late, and holds the async cleanup hook that keeps a
// terminating worker (and this library's code) alive until that callback ran.
struct Poller {
  uv_poll_t poll;
  napi_async_cleanup_hook_handle hook = nullptr;
  TunHandle* owner = nullptr;  // null once closing: events are no longer wanted
  bool closing = false;
};

class TunHandle : public Napi::ObjectWrap<TunHandle> {
 public:
  static Napi::Function Init(Napi::Env env);

  // new TunHandle(name: string, mtu: number); throws Error with .code/.errno.
  explicit TunHandle(const Napi::CallbackInfo& info);
  ~TunHandle() override;

 private:
  Napi::Value GetName(const Napi::CallbackInfo& info);
  Napi::Value GetDroppedWrites(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  // start(onBatch(slab: Buffer, lengths: Uint32Array), onError(err: Error))
  void Start(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  static void OnPoll(uv_poll_t* poll, int status, int events);
  static void OnEnvTeardown(napi_async_cleanup_hook_handle hook, void* arg);
  static void ClosePoller(Poller* poller);
  void ReadBatch(int poll_status);
  void Call(Napi::FunctionReference& fn, std::initializer_list<napi_value> args);
  void StopPolling();
  void Shutdown();

  napi_env env_;
  int fd_ = -1;
  std::string name_;
  uint64_t dropped_writes_ = 0;
  Poller* poller_ = nullptr;   // while polling; freed by ClosePoller's callback
  bool pinned_ = false;        // holds a strong ref while polling so GC cannot take us
  bool failed_ = false;
  Napi::FunctionReference on_batch_;
  Napi::FunctionReference on_error_;
  std::unique_ptr<Napi::AsyncContext> async_;
  std::vector<uint8_t> slab_;  // packets of one wake-up, back to back
};

}  // namespace wgp2p
