// UDP segmentation offloads on the engine's socket: UDP_SEGMENT (GSO) sends a run of equal-size
// datagrams to one peer as one buffer that the kernel (or the NIC) cuts up late; UDP_GRO lets the
// kernel hand us a run of datagrams from one sender as one buffer, cut at the size in a cmsg.
// Pure syscall helpers, no N-API.
#pragma once

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace wgp2p {

// Segments per GSO send: the kernel's UDP_MAX_SEGMENTS on every kernel that has UDP_SEGMENT.
constexpr size_t kGsoMaxSegments = 64;
// Bytes of payload per GSO send: what fits in one IPv6 packet of 64 KiB (IPv4 allows a little
// more; one bound for both keeps a dual-stack socket simple).
constexpr size_t kGsoMaxBytes = 65535 - 40 - 8;
// Control buffer room for one UDP_SEGMENT (u16) and for one UDP_GRO (int) cmsg.
constexpr size_t kGsoControlSpace = CMSG_SPACE(sizeof(uint16_t));
constexpr size_t kGroControlSpace = CMSG_SPACE(sizeof(int));

// Control buffers aligned for cmsghdr, one per message.
struct alignas(cmsghdr) GsoControl {
  unsigned char bytes[kGsoControlSpace];
};
struct alignas(cmsghdr) GroControl {
  unsigned char bytes[kGroControlSpace];
};

// True when the socket takes UDP_SEGMENT (the kernel has UDP GSO).
bool GsoSupported(int fd);
// Turns UDP_GRO on; false when the kernel does not have it.
bool EnableGro(int fd);
// Puts a UDP_SEGMENT cmsg of `segment_size` into `h` (control buffer `ctrl`).
void SetGsoSize(msghdr* h, GsoControl* ctrl, uint16_t segment_size);
// The segment size of a coalesced receive (UDP_GRO cmsg), or 0 when it holds one datagram.
size_t GroSegmentSize(const msghdr& h);
// Send errors that mean "this path cannot do UDP GSO" (EIO: the device cannot checksum it;
// EINVAL: a segment does not fit the route's MTU, or the kernel refuses the cmsg): turn GSO off
// and send the datagrams one by one.
bool IsGsoRefusal(int e);

}  // namespace wgp2p
