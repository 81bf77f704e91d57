#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The kernel UDP path under --enable-sandbox --enable-seccomp: bulk
# datagrams both ways (recvmmsg), to a peer outside and to the gateway,
# IPv4 and IPv6, and an ICMP error read from a socket's error queue
# (recvmsg with MSG_ERRQUEUE) reaching the guest's connected socket, all
# within the seccomp allowlist; the daemon stays confined.
. "$(dirname "$0")/../lib.sh"

N=1000
peer_network
udp_peer_server 192.0.2.254 7000 nsenter --target "$PEER_PID" --net --
udp_peer_server 2001:db8::fe 7000 nsenter --target "$PEER_PID" --net --
udp_peer_server 127.0.0.1 7001

start_guest
start_slirp -c -6 --enable-sandbox --enable-seccomp -a "$WORK/api.sock" "$GUEST_PID" tap0 ||
    fail "did not start"
assert_confined "$SLIRP_PID" 0000000000000400
wait_until 15 guest_has_ra_address || fail "no usable IPv6 address in the guest"
for target in "192.0.2.254 7000" "10.0.2.2 7001" "2001:db8::fe 7000"; do
    got=$(udp_peer upload $target $N)
    [ "$got" = ok ] || fail "upload to $target: '$got'"
    got=$(udp_peer download $target $N)
    [ "$got" = ok ] || fail "download from $target: '$got'"
done
for target in "192.0.2.254 7999" "2001:db8::fe 7999"; do
    got=$(udp_peer refused $target)
    [ "$got" = refused ] || fail "a connected guest socket to $target (nothing there): '$got', not refused"
done
assert_kernel_udp "$WORK/api.sock" $((3 * N))
kill -0 "$SLIRP_PID" || fail "the daemon died"
assert_confined "$SLIRP_PID" 0000000000000400
pass "bulk both ways and ICMP errors through the kernel UDP path, sandboxed and under seccomp"
