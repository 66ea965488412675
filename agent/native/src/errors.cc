#include "errors.h"

#include <napi.h>
#include <string.h>

namespace wgp2p {

namespace {

bool SetString(napi_env env, napi_value obj, const char* key, const char* text) {
  napi_value v;
  return napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

}  // namespace

std::string ErrnoText(int e) {
  const char* sym = strerrorname_np(e);  // glibc >= 2.32
  std::string text = sym ? sym : ("errno " + std::to_string(e));
  return text + ": " + strerror(e);
}

SysError SysFailure(const std::string& what, int e) { return SysError{what + " (" + ErrnoText(e) + ")", e}; }

napi_value ErrnoError(napi_env env, const std::string& message, int errnum, const char* syscall) {
  napi_value text, err, num;
  if (napi_create_string_utf8(env, message.data(), message.size(), &text) != napi_ok ||
      napi_create_error(env, nullptr, text, &err) != napi_ok) {
    return nullptr;
  }
  if (errnum != 0) {
    const char* sym = strerrorname_np(errnum);
    if (sym && !SetString(env, err, "code", sym)) return nullptr;
    // Negative, as in Node's own system errors (and libuv's status codes).
    if (napi_create_int32(env, -errnum, &num) != napi_ok || napi_set_named_property(env, err, "errno", num) != napi_ok) {
      return nullptr;
    }
  }
  if (syscall && !SetString(env, err, "syscall", syscall)) return nullptr;
  return err;
}

void ThrowErrnoError(napi_env env, const std::string& message, int errnum) {
  napi_value err = ErrnoError(env, message, errnum);
  if (!err) throw Napi::Error::New(Napi::Env(env), message);
  throw Napi::Error(env, err);
}

}  // namespace wgp2p
