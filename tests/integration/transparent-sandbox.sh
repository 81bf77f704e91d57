#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Under --enable-sandbox --enable-seccomp the port-forwarding helper keeps
# exactly CAP_NET_BIND_SERVICE and CAP_NET_ADMIN (the latter for transparent
# sockets and UDP reply rules, counting only in the target's namespace),
# transparent TCP and UDP forwards show the client's real address, and the
# confined helper still removes its rules and routes on a clean exit.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
PEER_PY=$TESTS_DIR/integration/transparent-peer.py

start_guest
peer_network
start_slirp -c --enable-sandbox --enable-seccomp -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
assert_confined "$SLIRP_PID" 0000000000000400
helper=$(pgrep -P "$SLIRP_PID" -x slirp4netns-fwd) || fail "no port-forwarding helper under the daemon"
assert_confined "$helper" 0000000000001400
background nsenter --target "$GUEST_PID" --net python3 "$PEER_PY" serve 7100
wait_until 10 in_guest sh -c 'ss -Hltn "sport = :7100" | grep -q . && ss -Hlun "sport = :7100" | grep -q .' ||
    fail "guest server did not start"
api_add "$SOCK" '"proto":"tcp","host_port":17401,"guest_port":7100'
api_add "$SOCK" '"proto":"udp","host_port":17401,"guest_port":7100'
for proto in tcp udp; do
    size=100000
    [ $proto = udp ] && size=1200
    seen=$(in_peer timeout 60 python3 "$PEER_PY" $proto 192.0.2.1 17401 $size) || fail "$proto: data lost"
    [ "$seen" = 192.0.2.254 ] || fail "$proto through the confined helper showed '$seen'"
done
in_guest ip rule | grep -q "ipproto udp sport 7100" || fail "no UDP reply rule from the confined helper"
stop_slirp
in_guest ip rule | grep -q 1936484722 && fail "the confined helper left rules: $(in_guest ip rule)"
in_guest ip route show table all | grep -q 1936484722 && fail "the confined helper left routes"
pass "confined helper with CAP_NET_ADMIN only in the namespace: real addresses over TCP and UDP, rules removed at exit"
