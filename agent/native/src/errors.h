// The addon's one way to turn an errno into text and into a JS Error shaped like
// Node's own (.code "EBADF", .errno -9, .syscall), so callers can switch on .code.
#pragma once

#include <node_api.h>

#include <string>

namespace wgp2p {

// "EPERM: Operation not permitted" style text for errno `e`.
std::string ErrnoText(int e);

// What the code that opens a device or socket (tun_open, udp_open: plain syscalls) throws; the
// JS-facing constructor that called it turns it into an ErrnoError.
struct SysError {
  std::string message;  // full human-readable text, errno text included
  int errnum;           // the errno that caused it, 0 for validation errors
};

// SysError{"<what> (EPERM: Operation not permitted)", e}.
SysError SysFailure(const std::string& what, int e);

// An Error with `message`, plus .code/.errno for a non-zero `errnum` and .syscall if given.
// C API only, every status checked: returns nullptr while the environment is stopping (a
// terminating worker), when nothing can be reported anyway.
napi_value ErrnoError(napi_env env, const std::string& message, int errnum, const char* syscall = nullptr);

// ErrnoError thrown as a C++ exception (node-addon-api turns it into a JS throw); for
// constructors and methods called from JS, never from a libuv callback.
[[noreturn]] void ThrowErrnoError(napi_env env, const std::string& message, int errnum);

}  // namespace wgp2p
