#include "tun_handle.h"

#include <errno.h>
#include <unistd.h>

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

Napi::Error MakeError(Napi::Env env, const std::string& message, int errnum) {
  Napi::Error err = Napi::Error::New(env, message);
  if (errnum != 0) {
    const char* sym = strerrorname_np(errnum);
    if (sym) err.Set("code", Napi::String::New(env, sym));
    err.Set("errno", Napi::Number::New(env, -errnum));
  }
  return err;
}

}  // namespace

Napi::Function TunHandle::Init(Napi::Env env) {
  return DefineClass(env, "TunHandle",
                     {
                         InstanceAccessor<&TunHandle::GetName>("name"),
                         InstanceAccessor<&TunHandle::GetDroppedWrites>("droppedWrites"),
                         InstanceMethod<&TunHandle::Write>("write"),
                         InstanceMethod<&TunHandle::Start>("start"),
                         InstanceMethod<&TunHandle::Close>("close"),
                     });
}

TunHandle::TunHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TunHandle>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "TunHandle(name: string, mtu: number)");
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int mtu = info[1].As<Napi::Number>().Int32Value();
  try {
    fd_ = OpenTun(name, mtu, &name_);
  } catch (const TunError& e) {
    throw MakeError(env, e.message, e.errnum);
  }
}

TunHandle::~TunHandle() { Shutdown(); }

Napi::Value TunHandle::GetName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }

Napi::Value TunHandle::GetDroppedWrites(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(dropped_writes_));
}

Napi::Value TunHandle::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "write(packet: Buffer)");
  auto packet = info[0].As<Napi::Buffer<uint8_t>>();
  size_t len = packet.Length();
  if (fd_ < 0 || len == 0 || len > kMaxPacket) {
    dropped_writes_++;
    return Napi::Boolean::New(env, false);
  }
  // Non-blocking: a full queue (EAGAIN/ENOBUFS) or a packet the kernel rejects
  // (EINVAL, not IPv4/IPv6) is a drop, as on any network device.
  ssize_t n;
  do {
    n = write(fd_, packet.Data(), len);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(len)) {
    dropped_writes_++;
    return Napi::Boolean::New(env, false);
  }
  return Napi::Boolean::New(env, true);
}

void TunHandle::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsFunction()) {
    throw Napi::TypeError::New(env, "start(onBatch: Function, onError: Function)");
  }
  if (fd_ < 0) throw Napi::Error::New(env, "TUN device " + name_ + " is closed");
  if (poller_ || failed_) throw Napi::Error::New(env, "TUN device " + name_ + " is already reading");

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) {
    throw Napi::Error::New(env, "cannot get the event loop");
  }
  auto* poller = new Poller();
  int rc = uv_poll_init(loop, &poller->poll, fd_);
  if (rc != 0) {
    delete poller;  // never initialised, so libuv does not know it
    throw Napi::Error::New(env, std::string("uv_poll_init failed: ") + uv_strerror(rc));
  }
  poller->poll.data = poller;
  rc = uv_poll_start(&poller->poll, UV_READABLE, OnPoll);
  if (rc != 0) {
    ClosePoller(poller);
    throw Napi::Error::New(env, std::string("uv_poll_start failed: ") + uv_strerror(rc));
  }
  napi_add_async_cleanup_hook(env, OnEnvTeardown, poller, &poller->hook);
  poller->owner = this;
  poller_ = poller;

  slab_.resize(kSlabSize);
  on_batch_ = Napi::Persistent(info[0].As<Napi::Function>());
  on_error_ = Napi::Persistent(info[1].As<Napi::Function>());
  async_ = std::make_unique<Napi::AsyncContext>(env, "wgp2p:tun");
  Ref();
  pinned_ = true;
}

void TunHandle::Close(const Napi::CallbackInfo&) { Shutdown(); }

void TunHandle::OnPoll(uv_poll_t* poll, int status, int) {
  auto* poller = static_cast<Poller*>(poll->data);
  if (poller->owner) poller->owner->ReadBatch(status);
}

void TunHandle::ReadBatch(int poll_status) {
  if (fd_ < 0) return;
  std::vector<uint32_t> lengths;
  size_t used = 0;
  int read_errno = 0;
  while (lengths.size() < kMaxBatch && slab_.size() - used >= kMaxPacket) {
    ssize_t n = read(fd_, slab_.data() + used, kMaxPacket);
    if (n > 0) {
      lengths.push_back(static_cast<uint32_t>(n));
      used += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) read_errno = errno;
      break;
    }
  }

  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  Ref();  // the callbacks may close() us and drop every other reference
  if (!lengths.empty()) {
    // The C API with every status checked: while the environment is stopping (a worker being
    // terminated) value creation fails, and node-addon-api's wrappers would abort the process.
    napi_value slab, lens_ab, lens;
    void* lens_data = nullptr;
    if (napi_create_buffer_copy(env_, used, slab_.data(), nullptr, &slab) != napi_ok ||
        napi_create_arraybuffer(env_, lengths.size() * 4, &lens_data, &lens_ab) != napi_ok ||
        napi_create_typedarray(env_, napi_uint32_array, lengths.size(), lens_ab, 0, &lens) != napi_ok) {
      Unref();
      return;
    }
    std::copy(lengths.begin(), lengths.end(), static_cast<uint32_t*>(lens_data));
    Call(on_batch_, {slab, lens});
  }
  if (fd_ >= 0 && (read_errno != 0 || poll_status < 0)) {
    // The device is gone or broken (typically EBADFD after `ip link del`):
    // report it once and stop, instead of spinning on a dead fd.
    std::string why = read_errno != 0 ? ErrnoText(read_errno) : uv_strerror(poll_status);
    Napi::Error err = MakeError(env, "reading from TUN device " + name_ + " failed (" + why +
                                         "); the interface was probably deleted", read_errno);
    failed_ = true;
    StopPolling();
    Call(on_error_, {err.Value()});
  }
  Unref();
}

void TunHandle::Call(Napi::FunctionReference& fn, std::initializer_list<napi_value> args) {
  if (fn.IsEmpty()) return;
  Napi::Env env(env_);
  try {
    // napi_make_callback needs an object receiver; the handle itself will do.
    fn.MakeCallback(Value(), args, *async_);
  } catch (const Napi::Error& e) {
    // No JS frame to throw into from a libuv callback: behave like an
    // exception thrown in an event handler ('uncaughtException').
    napi_fatal_exception(env_, e.Value());
  }
}

void TunHandle::ClosePoller(Poller* poller) {
  if (poller->closing) return;
  poller->closing = true;
  poller->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&poller->poll), [](uv_handle_t* h) {
    auto* p = static_cast<Poller*>(h->data);
    if (p->hook) napi_remove_async_cleanup_hook(p->hook);
    delete p;
  });
}

void TunHandle::StopPolling() {
  if (poller_) {
    ClosePoller(poller_);
    poller_ = nullptr;
  }
  if (pinned_) {
    pinned_ = false;
    Unref();
  }
}

void TunHandle::Shutdown() {
  StopPolling();
  // Only after the poll is stopped: libuv must never watch a closed fd.
  if (fd_ >= 0) {
    close(fd_);  // removes a non-persistent TUN interface
    fd_ = -1;
  }
  on_batch_.Reset();
  on_error_.Reset();
  async_.reset();
}

void TunHandle::OnEnvTeardown(napi_async_cleanup_hook_handle, void* arg) {
  // The environment (e.g. a worker thread) is going away while we still poll.
  // No JS may run now: just stop the poll and close the fd; Node waits for the
  // close callback (it removes this hook) before unloading the addon.
  auto* poller = static_cast<Poller*>(arg);
  TunHandle* self = poller->owner;
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
