// Module entry point: exports { TunHandle, UdpSocket }.
#include <napi.h>

#include "tun_handle.h"
#include "udp_socket.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("TunHandle", wgp2p::TunHandle::Init(env));
  exports.Set("UdpSocket", wgp2p::UdpSocket::Init(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(wgp2p_tun, Init)
