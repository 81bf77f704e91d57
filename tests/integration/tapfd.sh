#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --netns-type=tapfd: the client creates the tap in the guest and passes the
# open fd; the daemon serves it without entering any namespace. With no
# namespace to put a veth in, the kernel TCP path's frames are bridged.
. "$(dirname "$0")/../lib.sh"

http_server 8000
start_guest
SLIRP=$(tapfd_launcher "$GUEST_PID" tap0) start_slirp -a "$WORK/api.sock" --netns-type=tapfd ||
    fail "did not start"
expect "the tap exists in the guest" in_guest ip link show dev tap0
# Nothing configured it (-c is refused with tapfd): do it as a client would.
in_guest ip link set tap0 up
in_guest ip addr add 10.0.2.100/24 dev tap0
in_guest ip route add default via 10.0.2.2
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "HTTP through 10.0.2.2 returned '$body'"
S4N_TCP_DELIVERY=bridge assert_kernel_tcp "$WORK/api.sock"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS"
pass "served an inherited tap fd"
