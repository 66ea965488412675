// The JS class shape TunHandle and UdpSocket share: an ObjectWrap whose fd is read through
// an FdPoller, with start(onBatch, onError) and close() wired to it.
#pragma once

#include <napi.h>

#include <string>

#include "fd_poller.h"

namespace wgp2p {

template <typename T>
class PolledHandle : public Napi::ObjectWrap<T>, protected FdReader {
 protected:
  // `read_syscall` names what ReadBatch calls (a read error's .syscall); `resource` is the
  // async resource name the callbacks run under.
  PolledHandle(const Napi::CallbackInfo& info, const char* read_syscall, const char* resource)
      : Napi::ObjectWrap<T>(info), poller_(info.Env(), this, read_syscall), resource_(resource) {}

  // "TUN device wg0": what error messages call the fd.
  virtual std::string Describe() const = 0;
  // Allocates the read buffers, once reading is wanted (a wake-up comes on a later tick).
  virtual void PrepareReading() = 0;

  // JS start(onBatch, onError); throws if closed, already reading, or failed before.
  void Start(const Napi::CallbackInfo& info) {
    poller_.Start(info, static_cast<napi_ref>(*this), Describe(), resource_);
    PrepareReading();
  }
  // JS close(): stops reading and closes the fd. Idempotent.
  void Close(const Napi::CallbackInfo&) { poller_.Close(); }

  FdPoller poller_;

 private:
  const char* resource_;
};

}  // namespace wgp2p
