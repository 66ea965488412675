#!/usr/bin/env bash
# Demo: a static WireGuard tunnel between two network namespaces — wgp2p's userspace engine on one
# side, the reference wireguard-go on the other — then a ping each way and `wg show` on both.
# Needs root, the built project (npm run build) and wireguard-go/wireguard-tools/iproute2.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, TUN devices)" >&2; exit 1; }
for b in ip wg wireguard-go ping node; do command -v "$b" >/dev/null || { echo "demo: $b is missing (run: bash netns-scripts/install-deps.sh)" >&2; exit 1; }; done
[ -f dist/cli/main.js ] || { echo "demo: not built (run: npm run build)" >&2; exit 1; }

A=wgdemo-ours B=wgdemo-ref IFA=wgdemo0 IFB=wgdemo1
work=$(mktemp -d)
cleanup() {
  [ -n "${OURS_PID:-}" ] && kill "$OURS_PID" 2>/dev/null || true
  [ -n "${REF_PID:-}" ] && kill "$REF_PID" 2>/dev/null || true
  sleep 0.3
  ip netns del $A 2>/dev/null || true
  ip netns del $B 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cleanup_ns() { ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; }
cleanup_ns

echo "== two hosts on a fake internet (198.51.100.0/24)"
ip netns add $A; ip netns add $B
ip -n $A link set lo up; ip -n $B link set lo up
ip link add veth-demo-a netns $A type veth peer name veth-demo-b netns $B
ip -n $A addr add 198.51.100.1/24 dev veth-demo-a; ip -n $A link set veth-demo-a up
ip -n $B addr add 198.51.100.2/24 dev veth-demo-b; ip -n $B link set veth-demo-b up

wgp2p() { node dist/cli/main.js "$@"; }
KA=$(wgp2p genkey); PA=$(echo "$KA" | wgp2p pubkey)
KB=$(wg genkey);    PB=$(echo "$KB" | wg pubkey)

cat > "$work/$IFA.conf" <<CONF
[Interface]
PrivateKey = $KA
ListenPort = 51820
Address = 10.77.0.1/24

[Peer]
PublicKey = $PB
AllowedIPs = 10.77.0.2/32
Endpoint = 198.51.100.2:51820
CONF

echo "== wgp2p engine in $A (interface $IFA)"
ip netns exec $A node dist/cli/main.js up "$work/$IFA.conf" --interface $IFA 2> "$work/ours.log" &
OURS_PID=$!

echo "== wireguard-go in $B (interface $IFB)"
ip netns exec $B env WG_PROCESS_FOREGROUND=1 wireguard-go -f $IFB > "$work/ref.log" 2>&1 &
REF_PID=$!
for _ in $(seq 50); do [ -S /var/run/wireguard/$IFB.sock ] && [ -S /var/run/wireguard/$IFA.sock ] && break; sleep 0.1; done
echo "$KB" > "$work/kb"
ip netns exec $B wg set $IFB private-key "$work/kb" listen-port 51820 peer "$PA" allowed-ips 10.77.0.1/32 endpoint 198.51.100.1:51820
ip -n $B addr add 10.77.0.2/24 dev $IFB; ip -n $B link set $IFB up

echo "== ping ours -> wireguard-go"
ip netns exec $A ping -c 3 -i 0.3 -W 2 10.77.0.2
echo "== ping wireguard-go -> ours"
ip netns exec $B ping -c 3 -i 0.3 -W 2 10.77.0.1
echo "== wg show $IFA (our engine, through its UAPI socket)"
ip netns exec $A wg show $IFA
echo "== wg show $IFB (wireguard-go)"
ip netns exec $B wg show $IFB
echo "== demo OK"
