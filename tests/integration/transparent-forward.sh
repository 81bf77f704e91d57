#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Splice forwards (the default) show the guest each client's real address, as
# slirp mode does, and carry the data both ways: a client in another
# namespace (192.0.2.254, 2001:db8::fe) through forwards on 0.0.0.0, :: and a
# specific host address, TCP and UDP; a loopback client is shown as the
# gateway (10.0.2.2, fd00::2), and so is a client of the other family than
# the guest address it reaches.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
PEER_PY=$TESTS_DIR/integration/transparent-peer.py
# seen RUNNER PROTO HOST PORT EXPECTED: one client's exchange (2 MB over TCP,
# 1200 bytes over UDP) must come back intact and show EXPECTED to the guest.
seen() {
    local run=() size=2000000 got
    [ "$1" = peer ] && run=(in_peer)
    [ "$2" = udp ] && size=1200
    got=$("${run[@]}" timeout 60 python3 "$PEER_PY" "$2" "$3" "$4" $size) ||
        fail "$2 from the $1 to $3 port $4: the data did not come back intact (guest saw '$got')"
    [ "$got" = "$5" ] || fail "$2 from the $1 to $3 port $4: the guest saw '$got', not $5"
}

start_guest
peer_network
start_slirp -c -6 -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
background nsenter --target "$GUEST_PID" --net python3 "$PEER_PY" serve 7100
wait_until 10 in_guest sh -c 'ss -Hltn "sport = :7100" | grep -q . && ss -Hlun "sport = :7100" | grep -q .' ||
    fail "guest server did not start"
wait_until 15 sh -c "nsenter --target $GUEST_PID --net ip -6 -o addr show dev tap0 scope global | grep -q 'inet6 fd00::'" ||
    fail "guest got no IPv6 address from the router advertisement"
guest6=$(in_guest ip -6 -o addr show dev tap0 scope global | sed -n 's/.*inet6 \(fd00::[0-9a-f:]*\)\/.*/\1/p' | head -n1)

for proto in tcp udp; do
    api_add "$SOCK" "\"proto\":\"$proto\",\"host_port\":17101,\"guest_port\":7100"
    api_add "$SOCK" "\"proto\":\"$proto\",\"host_addr\":\"::\",\"host_port\":17102,\"guest_addr\":\"$guest6\",\"guest_port\":7100"
    api_add "$SOCK" "\"proto\":\"$proto\",\"host_addr\":\"192.0.2.2\",\"host_port\":17103,\"guest_port\":7100"
    api_add "$SOCK" "\"proto\":\"$proto\",\"host_addr\":\"2001:db8::2\",\"host_port\":17104,\"guest_addr\":\"$guest6\",\"guest_port\":7100"
    # Across families, as podman asks for -p [::1]:PORT (guest_addr "").
    api_add "$SOCK" "\"proto\":\"$proto\",\"host_addr\":\"::\",\"host_port\":17105,\"guest_addr\":\"\",\"guest_port\":7100"
done
list=$(api "$SOCK" '{"execute":"list_hostfwd"}')
[ "$(grep -o '"mode":"splice"' <<<"$list" | wc -l)" = 10 ] || fail "not every default forward is spliced: $list"
in_guest ip rule | grep -q "fwmark 0x736c6972 lookup 1936484722" || fail "no fwmark rule in the guest: $(in_guest ip rule)"

for proto in tcp udp; do
    seen peer $proto 192.0.2.1 17101 192.0.2.254
    seen peer $proto 2001:db8::1 17102 2001:db8::fe
    seen peer $proto 192.0.2.2 17103 192.0.2.254
    seen peer $proto 2001:db8::2 17104 2001:db8::fe
    seen peer $proto 2001:db8::1 17105 10.0.2.2
    seen host $proto 127.0.0.1 17101 10.0.2.2
    seen host $proto ::1 17102 fd00::2
    seen host $proto ::1 17105 10.0.2.2
done
# Each UDP client above is a flow with its own reply rule while it lasts.
rules=$(in_guest ip rule)
grep -q "to 192.0.2.254 ipproto udp sport 7100 dport" <<<"$rules" || fail "no IPv4 UDP reply rule: $rules"
grep -q "to 2001:db8::fe ipproto udp sport 7100 dport" <<<"$(in_guest ip -6 rule)" ||
    fail "no IPv6 UDP reply rule: $(in_guest ip -6 rule)"
pass "TCP and UDP, IPv4 and IPv6, on 0.0.0.0, :: and one address: the guest saw 192.0.2.254 / 2001:db8::fe, loopback as 10.0.2.2 / fd00::2, data intact"
