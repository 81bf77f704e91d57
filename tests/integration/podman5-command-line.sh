#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Podman 5's exact command line (podman 5 is not packaged for Debian 12, so
# its call is reproduced): rootless, from inside the user namespace that owns
# the container's network namespace, ready-fd 3 and exit-fd 4 (swapped from
# podman 4.3), an API socket, IPv6 and a CIDR of its choosing. Its port
# request goes the way podman sends it (JSON and a newline, half-close, one
# read of up to 2048 bytes) and the forward carries traffic; UDP goes out
# both ways in both families; closing fd 4
# ends the daemon and its helper. Then podman's rootless-netns form: the same
# call without -e and without an API socket, ended by a signal.
. "$(dirname "$0")/../lib.sh"

rootless_client_host
peer_network
peer_http_server "hello from outside"
udp_peer_server 192.0.2.254 7000 nsenter --target "$PEER_PID" --net --
udp_peer_server 2001:db8::fe 7000 nsenter --target "$PEER_PID" --net --

install -d -o "$TEST_USER" "$WORK/user"
API=$WORK/user/podman.net
start_guest_as_test_user
NETNS=/proc/$GUEST_PID/ns/net
SLIRP=$(in_guest_userns_launcher podman-slirp) start_client_slirp 3 4 \
    --disable-host-loopback --mtu=65520 --enable-sandbox --enable-seccomp --cidr=10.4.2.0/24 \
    --enable-ipv6 -c -r 3 -e 4 --api-socket "$API" --netns-type=path "$NETNS" tap0 ||
    fail "podman 5's command line did not start"
[ "$(readlink "/proc/$SLIRP_PID/ns/user")" = "$(readlink "/proc/$GUEST_PID/ns/user")" ] ||
    fail "the daemon is not in the container's user namespace, where podman runs it"
expect "daemon under seccomp" grep -q "^Seccomp:[[:space:]]*2$" "/proc/$SLIRP_PID/status"

addrs=$(in_guest ip -o addr show dev tap0)
grep -q "inet 10.4.2.100/24" <<<"$addrs" || fail "tap0 lacks 10.4.2.100/24: $addrs"
grep -q "tap0: <.*UP.*> mtu 65520" <<<"$(in_guest ip link show dev tap0)" || fail "tap0 is not up with MTU 65520"
body=$(in_guest curl -s -m 10 http://192.0.2.254:8080/)
[ "$body" = "hello from outside" ] || fail "the container fetched '$body' from outside"
assert_kernel_tcp "$API"
wait_until 20 guest_has_ra_address || fail "no fd00::/64 address on tap0 (router advertisements)"
# UDP (QUIC, DNS to a server of the container's choosing, VPNs) both ways,
# both families, through the daemon's own sockets.
udp_round_trip 192.0.2.254 7000 1000 "podman 5, IPv4"
udp_round_trip 2001:db8::fe 7000 1000 "podman 5, IPv6"
assert_kernel_udp "$API" 2000

guest_http_server 8080 0.0.0.0 "served by the container"
# As podman sends it, from podman's own user: the script is staged for it.
request='{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"0.0.0.0","host_port":18090,"guest_addr":"","guest_port":8080}}'
reply=$(api_as_test_user --podman "$API" "$request")
grep -q '^{"return":{"id":[0-9]*}}$' <<<"$reply" || fail "podman's add_hostfwd answered '$reply'"
body=$(curl -s -m 10 http://127.0.0.1:18090/)
[ "$body" = "served by the container" ] || fail "the published port 18090 returned '$body'"
reply=$(api_as_test_user --podman "$API" "$request")
grep -q '"error"' <<<"$reply" || fail "a second forward on port 18090 was not refused: '$reply'"

# Podman stops the daemon by closing its end of the exit-fd pipe.
pids=$(our_processes)
[ "$(wc -l <<<"$pids")" -ge 2 ] || fail "expected the daemon and its namespace helper, found: $pids"
close_exit_fd
gone() { [ -z "$(our_processes)" ]; }
wait_until 10 gone || fail "processes left after closing the exit-fd: $(our_processes)"
wait "$SLIRP_PID"
status=$?
[ "$status" = 0 ] || fail "exit status $status after the exit-fd closed"
[ -e "$API" ] && fail "API socket $API left behind"
curl -s -m 2 http://127.0.0.1:18090/ >/dev/null && fail "port 18090 still answers after the daemon exited"

# The rootless-netns form: no exit-fd and no API socket; ended by a signal.
start_guest_as_test_user
SLIRP=$(in_guest_userns_launcher podman-netns-slirp) start_client_slirp 3 - \
    --disable-host-loopback --mtu=65520 --enable-sandbox --enable-seccomp --cidr=10.4.3.0/24 \
    --enable-ipv6 -c -r 3 --netns-type=path "/proc/$GUEST_PID/ns/net" tap0 ||
    fail "podman 5's rootless-netns command line did not start"
grep -q "inet 10.4.3.100/24" <<<"$(in_guest ip -o -4 addr show dev tap0)" || fail "rootless netns: tap0 not configured"
body=$(in_guest curl -s -m 10 http://192.0.2.254:8080/)
[ "$body" = "hello from outside" ] || fail "rootless netns: fetched '$body' from outside"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "rootless netns: exit status $SLIRP_STATUS on SIGTERM"
wait_until 10 gone || fail "rootless netns: processes left after SIGTERM: $(our_processes)"
pass "podman 5: started rootless with -r 3 -e 4, UDP both families, published 18090 through podman's request, ended by closing fd 4; rootless-netns form ended by SIGTERM"
