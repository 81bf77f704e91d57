#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What address a forwarded connection shows the server in the guest, per mode.
# Both modes show a remote client's own address (192.0.2.254 from a peer
# namespace) and a loopback client as the gateway 10.0.2.2 -- podman's
# port_handler=slirp4netns and rootlesskit's slirp4netns port driver are
# chosen for exactly this. Splice does it with transparent sockets inside the
# namespace, so the default (auto) splices every forward.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
# seen_from CLIENT PORT: the address the guest server saw, connecting from
# the host's loopback (CLIENT=host) or from the peer namespace (CLIENT=peer).
seen_from() {
    local run=() to=127.0.0.1
    [ "$1" = peer ] && run=(in_peer) to=192.0.2.1
    "${run[@]}" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print(s.recv(100).decode().strip())' "$to" "$2"
}

start_guest
peer_network
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
background nsenter --target "$GUEST_PID" --net python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("0.0.0.0", 9000))
s.listen(8)
while True:
    c, addr = s.accept()
    c.sendall((addr[0] + "\n").encode())
    c.close()'
wait_until 10 in_guest sh -c 'ss -Hltn "sport = :9000" | grep -q .' || fail "guest server did not start"

api_add "$SOCK" '"proto":"tcp","host_port":19001,"guest_port":9000'
api_add "$SOCK" '"proto":"tcp","host_port":19002,"guest_port":9000,"mode":"slirp"'
api_add "$SOCK" '"proto":"tcp","host_port":19003,"guest_port":9000,"mode":"splice"'
api_add "$SOCK" '"proto":"tcp","host_addr":"127.0.0.1","host_port":19004,"guest_port":9000'
api_add "$SOCK" '"proto":"tcp","host_addr":"127.0.0.1","host_port":19005,"guest_port":9000,"mode":"slirp"'
list=$(api "$SOCK" '{"execute":"list_hostfwd"}')
for port in 19001 19003 19004; do
    grep -q "\"host_port\":$port,[^}]*\"mode\":\"splice\"" <<<"$list" ||
        fail "forward :$port is not listed as splice: $list"
done
for port in 19002 19005; do
    grep -q "\"host_port\":$port,[^}]*\"mode\"" <<<"$list" && fail "forward :$port is not listed as slirp: $list"
done
for port in 19001 19002 19003; do
    seen=$(seen_from peer $port)
    [ "$seen" = 192.0.2.254 ] || fail "forward :$port showed a remote client as '$seen', not its own address"
done
for port in 19001 19002 19003 19004 19005; do
    seen=$(seen_from host $port)
    [ "$seen" = 10.0.2.2 ] || fail "forward :$port showed a loopback client as '$seen', not 10.0.2.2"
done
pass "every mode shows a remote client as 192.0.2.254 and a loopback one as 10.0.2.2; the default splices"
