// One non-blocking fd read from the event loop with uv_poll (no threadpool, no blocking),
// shared by TunHandle and UdpSocket: start/stop, the wake-up that lets the owner read until
// EAGAIN, the onBatch/onError callbacks, and a close that is safe when the environment (a
// worker thread) is torn down while polling. Everything that can run in a libuv callback or
// during teardown uses the N-API C API with every status checked: node-addon-api's throwing
// wrappers would abort the process once the environment is stopping.
#pragma once

#include <napi.h>
#include <uv.h>

#include <initializer_list>
#include <string>

namespace wgp2p {

// What the owner of an FdPoller does with its fd.
class FdReader {
 public:
  // Reads what one wake-up may take (until EAGAIN or a full batch), hands it to JS with
  // FdPoller::CallBatch, and returns 0, or the errno of a read error that makes the fd useless.
  virtual int ReadBatch() = 0;
  // The message of the Error passed to onError; `cause` is ErrnoText of the failure.
  virtual std::string FailureMessage(const std::string& cause) const = 0;

 protected:
  ~FdReader() = default;
};

class FdPoller {
 public:
  // `read_syscall` names what ReadBatch calls, for the .syscall of a read error.
  FdPoller(napi_env env, FdReader* reader, const char* read_syscall) : env_(env), reader_(reader), read_syscall_(read_syscall) {}
  ~FdPoller() { Close(); }
  FdPoller(const FdPoller&) = delete;
  FdPoller& operator=(const FdPoller&) = delete;

  // Takes ownership of a non-blocking fd (once, before Start).
  void Adopt(int fd) { fd_ = fd; }
  int fd() const { return fd_; }

  // JS start(onBatch, onError) for the object whose wrapper reference is `self` (pinned while
  // polling, and the callbacks' receiver). `what` names the fd in errors; throws a JS Error.
  void Start(const Napi::CallbackInfo& info, napi_ref self, const std::string& what, const char* resource);

  // Calls onBatch(...args) from ReadBatch. False if the values could not be handed over
  // (the environment is stopping); a throwing callback becomes an 'uncaughtException'.
  bool CallBatch(std::initializer_list<napi_value> args);

  // Test hook: the next loop iteration sees poll status -errnum, as if libuv had reported it.
  // False when not polling.
  bool InjectError(int errnum);

  // Stops polling, then closes the fd and drops the callbacks. Idempotent.
  void Close();

 private:
  struct State;

  static void OnPoll(uv_poll_t* poll, int status, int events);
  static void OnEnvTeardown(napi_async_cleanup_hook_handle hook, void* arg);
  static void CloseState(State* state);
  void Wake(int status);
  void Fail(int errnum, const char* syscall);
  void Call(napi_ref fn, size_t argc, const napi_value* argv);
  void StopPolling();

  napi_env env_;
  FdReader* reader_;
  const char* read_syscall_;
  int fd_ = -1;
  State* state_ = nullptr;  // while polling; freed by libuv's close callback
  napi_ref self_ = nullptr;  // the owner's wrapper reference (not ours to delete)
  bool pinned_ = false;      // holds self_ strong while polling so GC cannot take the owner
  bool failed_ = false;      // reported an error: never polls again
  napi_ref on_batch_ = nullptr;
  napi_ref on_error_ = nullptr;
  napi_async_context async_ = nullptr;
};

// A wake-up's data for JS: `size` bytes copied into a Buffer. C API; false on failure.
bool NewSlab(napi_env env, const void* data, size_t size, napi_value* out);
// A Uint32Array of `count` elements for the caller to fill through *data. C API; false on failure.
bool NewUint32Array(napi_env env, size_t count, napi_value* out, uint32_t** data);

}  // namespace wgp2p
