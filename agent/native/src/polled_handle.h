// The JS class shape TunHandle and UdpSocket share: an ObjectWrap whose fd is read through
// an FdPoller, with start(onBatch, onError) and close() wired to it.
#pragma once

#include <napi.h>

#include <string>
#include <type_traits>
#include <vector>

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

  using Props = std::vector<typename Napi::ObjectWrap<T>::PropertyDescriptor>;

  // The JS class: T's own properties and the start() and close() every handle has.
  static Napi::Function DefineHandle(Napi::Env env, const char* name, Props props) {
    props.push_back(Napi::ObjectWrap<T>::InstanceMethod("start", &PolledHandle::Start));
    props.push_back(Napi::ObjectWrap<T>::InstanceMethod("close", &PolledHandle::Close));
    return Napi::ObjectWrap<T>::DefineClass(env, name, props);
  }

  // JS start(onBatch, onError); throws if closed, already reading, or failed before.
  void Start(const Napi::CallbackInfo& info) {
    poller_.Start(info, static_cast<napi_ref>(*this), Describe(), resource_);
    PrepareReading();
  }
  // JS close(): stops reading and closes the fd. Idempotent.
  void Close(const Napi::CallbackInfo&) { poller_.Close(); }

  // A read-only JS property showing one field of T: a flag as a Boolean, a name as a
  // String, a counter or size as a Number. One getter serves every field.
  template <auto Field>
  static typename Napi::ObjectWrap<T>::PropertyDescriptor FieldAccessor(const char* name) {
    // Get is the base's member: as a template argument it would need a base-to-derived
    // conversion, which C++17 refuses there, so it goes in as a runtime value (as start does).
    return Napi::ObjectWrap<T>::InstanceAccessor(name, &PolledHandle::Get<Field>, nullptr);
  }

  FdPoller poller_;

 private:
  template <auto Field>
  Napi::Value Get(const Napi::CallbackInfo& info) {
    const auto& v = static_cast<T*>(this)->*Field;
    using V = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<V, bool>) return Napi::Boolean::New(info.Env(), v);
    else if constexpr (std::is_same_v<V, std::string>) return Napi::String::New(info.Env(), v);
    else return Napi::Number::New(info.Env(), static_cast<double>(v));
  }

  const char* resource_;
};

}  // namespace wgp2p
