#include "fd_poller.h"

#include <unistd.h>

#include "errors.h"

namespace wgp2p {

// The uv_poll_t and what libuv needs until its close callback: it outlives the FdPoller when
// closed late, and holds the async cleanup hook that keeps a terminating worker (and this
// library's code) alive until that callback ran.
struct FdPoller::State {
  uv_poll_t poll;
  napi_async_cleanup_hook_handle hook = nullptr;
  FdPoller* owner = nullptr;  // null once closing: events are no longer wanted
  bool closing = false;
  int injected_status = 0;  // test hook: reported instead of the next real status
};

void FdPoller::Start(const Napi::CallbackInfo& info, napi_ref self, const std::string& what, const char* resource) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsFunction()) {
    throw Napi::TypeError::New(env, "start(onBatch: Function, onError: Function)");
  }
  if (fd_ < 0) throw Napi::Error::New(env, what + " is closed");
  if (state_ || failed_) throw Napi::Error::New(env, what + " is already reading");

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) throw Napi::Error::New(env, "cannot get the event loop");
  auto* state = new State();
  int rc = uv_poll_init(loop, &state->poll, fd_);
  if (rc != 0) {
    delete state;  // never initialised, so libuv does not know it
    ThrowErrnoError(env, std::string("uv_poll_init failed: ") + uv_strerror(rc), -rc);
  }
  state->poll.data = state;
  rc = uv_poll_start(&state->poll, UV_READABLE, OnPoll);
  if (rc != 0) {
    CloseState(state);
    ThrowErrnoError(env, std::string("uv_poll_start failed: ") + uv_strerror(rc), -rc);
  }
  napi_add_async_cleanup_hook(env, OnEnvTeardown, state, &state->hook);
  state->owner = this;
  state_ = state;

  napi_value name;
  napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &name);
  napi_create_reference(env, info[0], 1, &on_batch_);
  napi_create_reference(env, info[1], 1, &on_error_);
  napi_async_init(env, nullptr, name, &async_);
  self_ = self;
  napi_reference_ref(env, self_, nullptr);
  pinned_ = true;
}

bool FdPoller::CallBatch(std::initializer_list<napi_value> args) {
  if (!on_batch_) return false;
  Call(on_batch_, args.size(), args.begin());
  return true;
}

bool FdPoller::InjectError(int errnum) {
  if (!state_) return false;
  state_->injected_status = -errnum;
  // Our fds are writable at once, so this wakes us on the next loop iteration.
  return uv_poll_start(&state_->poll, UV_READABLE | UV_WRITABLE, OnPoll) == 0;
}

void FdPoller::Close() {
  StopPolling();
  // Only after the poll is stopped: libuv must never watch a closed fd.
  if (fd_ >= 0) {
    close(fd_);  // for a TUN device this removes a non-persistent interface
    fd_ = -1;
  }
  if (on_batch_) napi_delete_reference(env_, on_batch_);
  if (on_error_) napi_delete_reference(env_, on_error_);
  if (async_) napi_async_destroy(env_, async_);
  on_batch_ = on_error_ = nullptr;
  async_ = nullptr;
}

void FdPoller::OnPoll(uv_poll_t* poll, int status, int) {
  auto* state = static_cast<State*>(poll->data);
  if (state->injected_status != 0) {
    status = state->injected_status;
    state->injected_status = 0;
  }
  if (state->owner) state->owner->Wake(status);
}

void FdPoller::Wake(int status) {
  if (fd_ < 0) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env_, &scope) != napi_ok) return;
  napi_reference_ref(env_, self_, nullptr);  // the callbacks may close() the owner and drop every other reference
  int read_errno = reader_->ReadBatch();
  // A dead fd (typically EBADFD after `ip link del`) or a broken poll: report it once and
  // stop, instead of spinning on it.
  if (fd_ >= 0 && !failed_) {
    if (read_errno != 0) {
      Fail(read_errno, read_syscall_);
    } else if (status < 0) {
      Fail(-status, "uv_poll");  // libuv statuses are negated errnos on Linux
    }
  }
  napi_reference_unref(env_, self_, nullptr);
  napi_close_handle_scope(env_, scope);
}

void FdPoller::Fail(int errnum, const char* syscall) {
  failed_ = true;
  StopPolling();
  napi_value err = ErrnoError(env_, reader_->FailureMessage(ErrnoText(errnum)), errnum, syscall);
  if (err) Call(on_error_, 1, &err);
}

void FdPoller::Call(napi_ref fn, size_t argc, const napi_value* argv) {
  napi_value func, recv, result;
  if (!fn || !async_ || napi_get_reference_value(env_, fn, &func) != napi_ok || !func ||
      napi_get_reference_value(env_, self_, &recv) != napi_ok || !recv) {
    return;
  }
  if (napi_make_callback(env_, async_, recv, func, argc, argv, &result) == napi_ok) return;
  // The callback threw: no JS frame to throw into from a libuv callback, so it becomes an
  // 'uncaughtException', like a throwing event handler. (A failure without a pending
  // exception is a stopping environment: nothing to report.)
  bool pending = false;
  napi_value exception;
  if (napi_is_exception_pending(env_, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env_, &exception) == napi_ok) {
    napi_fatal_exception(env_, exception);
  }
}

void FdPoller::CloseState(State* state) {
  if (state->closing) return;
  state->closing = true;
  state->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&state->poll), [](uv_handle_t* h) {
    auto* s = static_cast<State*>(h->data);
    if (s->hook) napi_remove_async_cleanup_hook(s->hook);
    delete s;
  });
}

void FdPoller::StopPolling() {
  if (state_) {
    CloseState(state_);
    state_ = nullptr;
  }
  if (pinned_) {
    pinned_ = false;
    napi_reference_unref(env_, self_, nullptr);
  }
}

void FdPoller::OnEnvTeardown(napi_async_cleanup_hook_handle, void* arg) {
  // The environment (e.g. a worker thread) is going away while we still poll. No JS may run
  // now: just stop the poll and close the fd; Node waits for the close callback (it removes
  // this hook) before unloading the addon.
  auto* state = static_cast<State*>(arg);
  FdPoller* self = state->owner;
  CloseState(state);
  if (!self) return;
  self->state_ = nullptr;
  self->pinned_ = false;  // the reference dies with the environment
  if (self->fd_ >= 0) {
    close(self->fd_);
    self->fd_ = -1;
  }
}

bool NewSlab(napi_env env, const void* data, size_t size, napi_value* out) {
  return napi_create_buffer_copy(env, size, size == 0 ? "" : data, nullptr, out) == napi_ok;
}

bool NewUint32Array(napi_env env, size_t count, napi_value* out, uint32_t** data) {
  napi_value ab;
  void* raw = nullptr;
  if (napi_create_arraybuffer(env, count * sizeof(uint32_t), &raw, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, count, ab, 0, out) != napi_ok) {
    return false;
  }
  *data = static_cast<uint32_t*>(raw);
  return true;
}

}  // namespace wgp2p
