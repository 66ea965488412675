// The bytes of a Uint8Array argument (a Buffer included), for every addon entry point that takes one.
#pragma once

#include <node_api.h>

#include <cstddef>
#include <cstdint>

namespace wgp2p {

// The bytes of a Uint8Array without copying; false for anything else (other typed arrays too).
inline bool BytesOf(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, nullptr, nullptr) != napi_ok) return false;
  if (type != napi_uint8_array) return false;
  *data = static_cast<uint8_t*>(ptr);
  return true;
}

}  // namespace wgp2p
