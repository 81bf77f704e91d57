#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# -c configures the tap (address, mask, route, MTU, MAC) and a host-loopback
# HTTP service is reachable through the gateway 10.0.2.2.
. "$(dirname "$0")/../lib.sh"

http_server 8000
start_guest
start_slirp -c --mtu=65520 --macaddress=02:11:22:33:44:55 -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"

addr=$(in_guest ip -o -4 addr show dev tap0)
expect "tap0 has 10.0.2.100/24" grep -q "inet 10.0.2.100/24" <<<"$addr"
expect "default route via 10.0.2.2" grep -q "default via 10.0.2.2 dev tap0" <<<"$(in_guest ip route)"
link=$(in_guest ip -o link show dev tap0)
expect "MTU 65520" grep -q "mtu 65520" <<<"$link"
expect "MAC set" grep -q "link/ether 02:11:22:33:44:55" <<<"$link"
expect "lo is up" grep -q "UP" <<<"$(in_guest ip -o link show dev lo)"
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "HTTP through 10.0.2.2 returned '$body'"
assert_kernel_tcp "$WORK/api.sock"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "SIGTERM exit status $SLIRP_STATUS"
pass "configured and reached the host's loopback"
