// Module entry point: exports { TunHandle, UdpSocket, AeadKey, sealBatch, openBatch }.
#include <napi.h>

#include "aead_key.h"
#include "tun_handle.h"
#include "udp_socket.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("TunHandle", wgp2p::TunHandle::Init(env));
  exports.Set("UdpSocket", wgp2p::UdpSocket::Init(env));
  wgp2p::AeadKey::Init(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(wgp2p_tun, Init)
