// The JS-facing UDP socket: read from the event loop through an FdPoller like TunHandle, but
// a wake-up drains the socket with recvmmsg into one JS call, and sendBatch hands many
// datagrams to the kernel in one sendmmsg, where node:dgram pays a syscall and a JS round
// trip per datagram.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "msg_batch.h"
#include "polled_handle.h"
#include "udp_offload.h"

namespace wgp2p {

class UdpSocket : public PolledHandle<UdpSocket> {
  // Datagrams per recvmmsg call. The slots are allocated but not touched up front,
  // so memory in use is about one page per slot that ever received something small.
  static constexpr size_t kRecvVlen = 64;
  // Largest UDP payload (IPv6 without jumbograms); a slot this big never truncates.
  static constexpr size_t kSlot = 65536;
  // Datagrams per wake-up: bounds the time spent here so the TUN gets its turn;
  // the poll is level-triggered, so leftovers wake us again on the next tick.
  static constexpr size_t kMaxBatch = 256;
  // The kernel takes at most UIO_MAXIOV (1024) messages per sendmmsg.
  static constexpr size_t kSendVlen = 1024;

 public:
  static Napi::Function Init(Napi::Env env);

  // new UdpSocket(port: number, offloads?: { gso?: boolean, gro?: boolean }): each offload is
  // used when asked for (the default) and the kernel has it. Throws Error with .code/.errno.
  // start(onBatch(slab, lengths:
  // Uint32Array, addresses: string[], ports: Uint32Array), onError(err)) and close() come from
  // PolledHandle.
  explicit UdpSocket(const Napi::CallbackInfo& info);

 private:
  // refuseGso(): test hook (WGP2P_TEST_HOOKS=1): SO_NO_CHECK, with which the kernel refuses
  // every GSO send (EINVAL), to exercise the fallback.
  void RefuseGso(const Napi::CallbackInfo& info);
  // send(data: Uint8Array, address: string, port: number): boolean
  Napi::Value Send(const Napi::CallbackInfo& info);
  // sendBatch(data: Uint8Array[], addresses: string[], ports: Uint32Array | number[]): number sent
  Napi::Value SendBatch(const Napi::CallbackInfo& info);
  // setMark(mark: number): SO_MARK on every datagram we send (wg's fwmark; 0 clears it).
  // Throws Error with .code/.errno (EPERM without CAP_NET_ADMIN).
  void SetMark(const Napi::CallbackInfo& info);
  // injectPollError(errno: number): test hook, only defined with WGP2P_TEST_HOOKS=1 at load.
  void InjectPollError(const Napi::CallbackInfo& info);

  // Receive path (udp_socket_recv.cc).
  int ReadBatch() override;
  std::string FailureMessage(const std::string& cause) const override;
  std::string Describe() const override { return "UDP socket"; }
  void PrepareReading() override;
  bool Deliver(const std::vector<uint32_t>& lengths);
  // Sends datagrams tx_.iovs/tx_.names[0, count); GSO groups runs of them (udp_socket_send.cc).
  size_t SendPrepared(size_t count);
  size_t BuildMessages(size_t first, size_t count);

  bool dual_stack_ = false;
  uint16_t port_ = 0;
  uint64_t dropped_sends_ = 0;
  uint64_t dropped_receives_ = 0;
  bool gso_ = false;  // UDP_SEGMENT in use (off for good after the kernel refused it once)
  bool gro_ = false;  // UDP_GRO on: a received message may hold a run of datagrams
  uint64_t gso_sends_ = 0;     // messages sent that carried more than one datagram
  uint64_t gro_receives_ = 0;  // messages received that held more than one datagram

  // Receive: one slot per datagram of a recvmmsg call, then compacted into out_;
  // rx_names_ holds the senders of a whole wake-up.
  std::unique_ptr<uint8_t[]> slots_;
  MsgBatch<GroControl> rx_;
  std::vector<sockaddr_storage> rx_names_;
  std::vector<uint8_t> out_;
  // Send. Per message (a GSO message carries several datagrams): its first datagram and how many.
  MsgBatch<GsoControl> tx_;
  std::vector<uint32_t> tx_first_;
  std::vector<uint32_t> tx_segments_;
};

}  // namespace wgp2p
