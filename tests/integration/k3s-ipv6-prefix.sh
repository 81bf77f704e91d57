#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# k3s's single-stack IPv6 rootless line, verbatim (the original refuses it,
# "invalid CIDR"):
#   slirp4netns --mtu 65520 -r 3 --disable-host-loopback
#       --cidr fd5b:e9ce:dffb:cafe::/64 --enable-ipv6 PID tap0
# The guest brings tap0 up (no -c: rootlesskit does that) and takes an
# address in the prefix from the router advertisement. Its IPv6 TCP reaches
# an outside peer, on the kernel TCP path (libslirp's under
# S4N_TCP_PATH=slirp); the gateway prefix::2 is refused, as
# --disable-host-loopback asks; DNS at prefix::3 answers. Then the same line
# with an API socket (what rootlesskit's slirp4netns port driver adds): a
# forward from [::1] to the guest's IPv6 address carries data, spliced and
# through libslirp, and the guest sees the client as prefix::2. Last, -c with
# the prefix and host loopback allowed: prefix::2 is the host's ::1, and
# fd00::2 is nothing.
. "$(dirname "$0")/../lib.sh"

PREFIX=fd5b:e9ce:dffb:cafe
PEER_PY=$TESTS_DIR/integration/transparent-peer.py
TCP_PEER=$TESTS_DIR/integration/tcp-peer.py
k3s_line=(--mtu 65520 -r 3 --disable-host-loopback --cidr "$PREFIX::/64" --enable-ipv6)
# start_client_slirp runs exactly what it is given: the TCP path a run asks
# for goes in front, as start_slirp puts it.
tcp_path=()
[ -n "${S4N_TCP_PATH:-}" ] && tcp_path=("--tcp-path=$S4N_TCP_PATH")

peer_network
peer_whoami_server 8090
http_server 8091 ::1
private_dns s4n.test 127.4.5.6 ::1

# guest_address [up]: waits until the guest's tap0 holds a usable address in
# the prefix (past duplicate address detection: a tentative one is no
# source yet); with "up", first brings tap0 up as rootlesskit does. Sets
# GUEST6.
guest_address() {
    [ "${1:-}" = up ] && in_guest ip link set tap0 mtu 65520 up
    usable() { in_guest ip -o -6 addr show dev tap0 scope global -tentative | grep -q "inet6 $PREFIX:"; }
    wait_until 15 usable || fail "no usable address in $PREFIX::/64: $(in_guest ip -o -6 addr)"
    GUEST6=$(in_guest ip -o -6 addr show dev tap0 scope global |
        sed -n "s/.*inet6 \($PREFIX:[0-9a-f:]*\)\/64 .*/\1/p" | head -n 1)
}
# whoami: the address the outside peer saw, asked from the guest over IPv6.
whoami() {
    in_guest timeout 10 python3 -c '
import socket
print(socket.create_connection(("2001:db8::fe", 8090)).makefile().readline().strip())'
}

# 1. The line itself.
start_guest
start_client_slirp 3 - "${tcp_path[@]}" "${k3s_line[@]}" "$GUEST_PID" tap0 ||
    fail "k3s's line did not start: $(cat "$WORK/slirp.log")"
for line in "IPv6 prefix: *$PREFIX::/64" "IPv6 gateway: *$PREFIX::2" "IPv6 DNS: *$PREFIX::3"; do
    expect "banner: $line" grep -q "$line" "$WORK/slirp.log"
done
expect_not "banner names no fd00::" grep -q "fd00::" "$WORK/slirp.log"
guest_address up
K3S_GUEST6=$GUEST6
log "guest address $GUEST6"
routes=$(in_guest ip -6 route)
grep -q "^$PREFIX::/64 dev tap0 proto kernel" <<<"$routes" || fail "no on-link route for the prefix: $routes"
wait_until 10 sh -c "nsenter --target $GUEST_PID --net ip -6 route | grep -q '^default via fe80::'" ||
    fail "no IPv6 default route: $(in_guest ip -6 route)"
# The peer sees one of the host side's own addresses on its link.
seen=$(whoami)
[[ $seen == 2001:db8::[12] ]] || fail "IPv6 TCP to the outside peer: it saw '$seen', not the host's 2001:db8::1 or ::2"
assert_kernel_peer 2001:db8::fe 8090
# libslirp answers with an ICMPv6 unreachable, the guest's connect fails at once.
refused=$(in_guest python3 "$TCP_PEER" connect "$PREFIX::2" 8091 5)
[ "$refused" = "Network is unreachable" ] ||
    fail "--disable-host-loopback: TCP to the gateway $PREFIX::2 ended '$refused', not refused"
answer=$(dns_lookup s4n.test "$PREFIX::3")
[ "$answer" = 127.4.5.6 ] || fail "DNS over IPv6 to $PREFIX::3 answered '$answer'"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS on SIGTERM"

# 2. With an API socket: forwards to the guest's IPv6 address.
SOCK=$WORK/api.sock
start_guest
start_client_slirp 3 - "${tcp_path[@]}" "${k3s_line[@]}" --api-socket "$SOCK" "$GUEST_PID" tap0 ||
    fail "k3s's line with --api-socket did not start: $(cat "$WORK/slirp.log")"
guest_address up
background nsenter --target "$GUEST_PID" --net python3 "$PEER_PY" serve 7100
wait_until 10 in_guest sh -c 'ss -Hltn "sport = :7100" | grep -q . && ss -Hlun "sport = :7100" | grep -q .' ||
    fail "guest server did not start"
api_add "$SOCK" "\"proto\":\"tcp\",\"host_addr\":\"::1\",\"host_port\":17100,\"guest_addr\":\"$GUEST6\",\"guest_port\":7100"
api_add "$SOCK" "\"proto\":\"udp\",\"host_addr\":\"::1\",\"host_port\":17100,\"guest_addr\":\"$GUEST6\",\"guest_port\":7100"
api_add "$SOCK" "\"proto\":\"tcp\",\"host_addr\":\"::1\",\"host_port\":17101,\"guest_addr\":\"$GUEST6\",\"guest_port\":7100,\"mode\":\"slirp\""
list=$(api "$SOCK" '{"execute":"list_hostfwd"}')
[ "$(grep -o '"mode":"splice"' <<<"$list" | wc -l)" = 2 ] || fail "the default forwards are not spliced: $list"
for forward in "tcp 17100 100000" "udp 17100 1200" "tcp 17101 100000"; do
    set -- $forward
    got=$(timeout 60 python3 "$PEER_PY" "$1" ::1 "$2" "$3") ||
        fail "$forward from [::1]: the data did not come back intact (guest saw '$got')"
    [ "$got" = "$PREFIX::2" ] || fail "$forward from [::1]: the guest saw '$got', not the gateway $PREFIX::2"
done
seen=$(whoami)
[[ $seen == 2001:db8::[12] ]] || fail "with the API socket, the outside peer saw '$seen'"
assert_kernel_tcp "$SOCK"
stop_slirp

# 3. -c with the prefix, host loopback allowed: the gateway is the host's ::1.
SOCK=$WORK/api3.sock
start_guest
start_slirp -c -6 --cidr "$PREFIX::/64" -a "$SOCK" "$GUEST_PID" tap0 || fail "-c -6 --cidr did not start"
guest_address
body=$(in_guest curl -s -m 10 "http://[$PREFIX::2]:8091/")
[ "$body" = "hello from host" ] || fail "HTTP through [$PREFIX::2] returned '$body'"
assert_kernel_tcp "$SOCK"
gone=$(in_guest python3 "$TCP_PEER" connect fd00::2 8091 5)
[ "$gone" != connected ] || fail "fd00::2 still reaches the host's loopback with the prefix $PREFIX::/64"
stop_slirp
pass "k3s's line: $K3S_GUEST6 by SLAAC reached 2001:db8::fe, $PREFIX::2 refused, DNS at $PREFIX::3; forwards from [::1] shown as $PREFIX::2 (splice TCP/UDP, slirp TCP); with -c, $PREFIX::2 is ::1 and fd00::2 is nothing"
