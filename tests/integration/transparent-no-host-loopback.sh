#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --disable-host-loopback changes nothing for forwards: splice and slirp
# forwards show a loopback client as 10.0.2.2 and a remote one as itself,
# and with the transparent routing in place the guest still cannot reach the
# host's loopback through 10.0.2.2.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
PEER_PY=$TESTS_DIR/integration/transparent-peer.py

http_server 8000
start_guest
peer_network
start_slirp -c --disable-host-loopback -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
background nsenter --target "$GUEST_PID" --net python3 "$PEER_PY" serve 7100
wait_until 10 in_guest sh -c 'ss -Hltn "sport = :7100" | grep -q .' || fail "guest server did not start"
api_add "$SOCK" '"proto":"tcp","host_port":17501,"guest_port":7100'
api_add "$SOCK" '"proto":"tcp","host_port":17502,"guest_port":7100,"mode":"slirp"'
for port in 17501 17502; do
    seen=$(timeout 60 python3 "$PEER_PY" tcp 127.0.0.1 $port 100000) || fail ":$port from loopback: data lost"
    [ "$seen" = 10.0.2.2 ] || fail ":$port showed a loopback client as '$seen'"
    seen=$(in_peer timeout 60 python3 "$PEER_PY" tcp 192.0.2.1 $port 100000) || fail ":$port from the peer: data lost"
    [ "$seen" = 192.0.2.254 ] || fail ":$port showed the peer as '$seen'"
done
in_guest curl -s -m 5 -o /dev/null http://10.0.2.2:8000/
status=$?
# 7: connection refused (libslirp answers with a RST), 28: timed out.
[ "$status" = 7 ] || [ "$status" = 28 ] || fail "with --disable-host-loopback the guest's curl to 10.0.2.2:8000 exited $status"
pass "loopback client 10.0.2.2, peer 192.0.2.254 in both modes; host loopback still refused (curl $status)"
