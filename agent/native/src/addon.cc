// Module entry point: exports { TunHandle }.
#include <napi.h>

#include "tun_handle.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("TunHandle", wgp2p::TunHandle::Init(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(wgp2p_tun, Init)
