// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"), as the IPv4 protocol and IPv6
// next-header fields carry them.
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
