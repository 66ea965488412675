#!/usr/bin/env bash
# Installs the Debian packages wgp2p's demo, tests and benchmarks drive (the reference WireGuard,
# namespaced-network tools, traffic and capture tools). Idempotent: only missing ones are fetched.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
[ "$(id -u)" = 0 ] || { echo "install-deps: run as root (apt-get)" >&2; exit 1; }

PACKAGES=(wireguard-go wireguard-tools iperf3 iproute2 iptables nftables conntrack systemd
  iputils-ping tcpdump tshark procps psmisc kmod ca-certificates openssl util-linux
  miniupnpd-nftables dnsutils)  # the binary alone: the `miniupnpd` package adds a system service the lab does not want

missing() {
  local pkg status
  for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    [ "${status:0:2}" = "ii" ] || echo "$pkg"   # "ii": wanted and installed
  done
}

MISSING=$(missing)
if [ -z "$MISSING" ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  echo "install-deps: installing" $MISSING
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get install -y --no-install-recommends "${PACKAGES[@]}"
  STILL=$(missing)
  [ -z "$STILL" ] || { echo "install-deps: still missing after apt-get:" $STILL >&2; exit 1; }
fi
for bin in wireguard-go wg iperf3 ip ss ping tcpdump tshark nft iptables conntrack sysctl openssl setpriv systemd-analyze miniupnpd; do
  command -v "$bin" >/dev/null || { echo "install-deps: $bin missing although its package is installed" >&2; exit 1; }
done
