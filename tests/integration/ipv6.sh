#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# With -6 -c the guest gets an fd00::/64 address by router advertisement and
# TCP to [fd00::2] reaches a service on the host side's ::1.
. "$(dirname "$0")/../lib.sh"

http_server 8006 ::1
start_guest
start_slirp -6 -c -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
wait_until 15 guest_has_ra_address || fail "no fd00::/64 address: $(in_guest ip -o -6 addr)"
addr=$(in_guest ip -o -6 addr show dev tap0 scope global)
expect "address is in fd00::/64" grep -q "inet6 fd00::[0-9a-f:]*/64" <<<"$addr"
wait_until 10 sh -c "nsenter --target $GUEST_PID --net ip -6 route | grep -q '^default via fe80::'" ||
    fail "no IPv6 default route: $(in_guest ip -6 route)"
expect "banner names the IPv6 gateway" grep -q "fd00::2" "$WORK/slirp.log"
body=$(in_guest curl -s -m 10 "http://[fd00::2]:8006/")
[ "$body" = "hello from host" ] || fail "HTTP through [fd00::2] returned '$body'"
assert_kernel_tcp "$WORK/api.sock"
stop_slirp
pass "$(awk '{print $4}' <<<"$addr") reached host ::1 via fd00::2"
