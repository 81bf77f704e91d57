#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --cidr=10.99.0.0/24 moves everything: guest .100, gateway .2, DNS .3.
. "$(dirname "$0")/../lib.sh"

http_server 8000
private_dns s4n.test 127.4.5.6
start_guest
start_slirp -c --cidr=10.99.0.0/24 -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
expect "tap0 has 10.99.0.100/24" grep -q "inet 10.99.0.100/24" <<<"$(in_guest ip -o -4 addr show dev tap0)"
expect "default route via 10.99.0.2" grep -q "default via 10.99.0.2 dev tap0" <<<"$(in_guest ip route)"
expect "banner names the gateway" grep -q "Gateway: *10.99.0.2" "$WORK/slirp.log"
body=$(in_guest curl -s -m 10 http://10.99.0.2:8000/)
[ "$body" = "hello from host" ] || fail "HTTP through 10.99.0.2 returned '$body'"
assert_kernel_tcp "$WORK/api.sock"
answer=$(dns_lookup s4n.test 10.99.0.3)
[ "$answer" = 127.4.5.6 ] || fail "DNS via 10.99.0.3 answered '$answer'"
expect_not "the default gateway is not used" in_guest curl -s -m 2 -o /dev/null http://10.0.2.2:8000/

# A /25 in the upper half of a /24: gateway .130, guest .228.
stop_slirp
start_guest
start_slirp -c --cidr=192.168.5.128/25 -a "$WORK/api2.sock" "$GUEST_PID" tap0 || fail "did not start (/25)"
expect "tap0 has 192.168.5.228/25" grep -q "inet 192.168.5.228/25" <<<"$(in_guest ip -o -4 addr show dev tap0)"
body=$(in_guest curl -s -m 10 http://192.168.5.130:8000/)
[ "$body" = "hello from host" ] || fail "HTTP through 192.168.5.130 returned '$body'"
assert_kernel_tcp "$WORK/api2.sock"
stop_slirp
pass "10.99.0.0/24 and 192.168.5.128/25 addressed and reachable"
