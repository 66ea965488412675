# N-API addon for the Linux TUN device (agent/tun/tun-device.ts loads it) and the
# engine's batching UDP socket (agent/daemon/batch-udp-socket.ts); both read their fd
# through one uv_poll-based FdPoller (src/fd_poller.h). Also the transport AEAD with a reusable
# OpenSSL context per key (src/aead_key.h, agent/wireguard/aead.ts), on the OpenSSL symbols
# Node itself exports (its headers come with the nodedir).
# Built by `npm run build:native`; headers come from the machine's nodedir,
# so nothing is downloaded.
{
  'targets': [
    {
      'target_name': 'wgp2p_tun',
      'sources': ['src/addon.cc', 'src/errors.cc', 'src/fd_poller.cc',
                  'src/tun_open.cc', 'src/tun_handle.cc',
                  'src/udp_addr.cc', 'src/udp_open.cc', 'src/udp_offload.cc', 'src/udp_socket.cc', 'src/udp_socket_recv.cc', 'src/udp_socket_send.cc',
                  'src/aead_key.cc'],
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': ['NAPI_VERSION=8'],
      'cflags_cc': ['-std=c++17', '-Wall', '-Wextra'],
      'conditions': [
        ["OS!='linux'", { 'type': 'none', 'sources': [] }],
      ],
    },
  ],
}
