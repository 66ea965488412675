#include "udp_offload.h"

#include <errno.h>

#include <cstring>

namespace wgp2p {

bool GsoSupported(int fd) {
  int size = 0;
  socklen_t len = sizeof(size);
  return getsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, &len) == 0;
}

bool EnableGro(int fd) {
  int on = 1;
  return setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0;
}

void SetGsoSize(msghdr* h, GsoControl* ctrl, uint16_t segment_size) {
  memset(ctrl, 0, sizeof(*ctrl));
  h->msg_control = ctrl->bytes;
  h->msg_controllen = sizeof(ctrl->bytes);
  cmsghdr* c = CMSG_FIRSTHDR(h);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  memcpy(CMSG_DATA(c), &segment_size, sizeof(segment_size));
}

size_t GroSegmentSize(const msghdr& h) {
  if (h.msg_controllen == 0) return 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&h)); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int size = 0;
      memcpy(&size, CMSG_DATA(c), sizeof(size));
      return size > 0 ? static_cast<size_t>(size) : 0;
    }
  }
  return 0;
}

bool IsGsoRefusal(int e) { return e == EIO || e == EINVAL; }

}  // namespace wgp2p
