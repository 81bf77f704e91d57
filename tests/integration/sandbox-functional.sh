#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# As root with --enable-sandbox --enable-seccomp -6 (no -c): the daemon is
# confined (seccomp filter, no-new-privs, only CAP_NET_BIND_SERVICE left, a
# root holding only etc and run, the old root gone, get_stats saying
# pivot_root) and everything still works: a DHCP lease (udhcpc), TCP and UDP
# to host-loopback services, DNS through 10.0.2.3 to the host side's
# resolver, IPv6 to [fd00::2], and a clean exit on SIGTERM.
. "$(dirname "$0")/../lib.sh"

private_dns sandbox.test 127.7.7.7
http_server 8000 ::
udp_echo 127.0.0.1 9000

start_guest
start_slirp -6 --enable-sandbox --enable-seccomp -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
assert_confined "$SLIRP_PID" 0000000000000400
sandbox=$(stats_field "$WORK/api.sock" sandbox)
[ "$sandbox" = pivot_root ] || fail "get_stats reports sandbox '$sandbox', not pivot_root"

lease=$(guest_dhcp)
grep -q "^lease ip=10.0.2.15 router=10.0.2.2 dns=10.0.2.3" <<<"$lease" || fail "DHCP: $lease"

body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "TCP to 10.0.2.2:8000 returned '$body'"

reply=$(udp_ask 10.0.2.2 9000 in_guest)
[ "$reply" = "echo:ping" ] || fail "UDP to 10.0.2.2:9000 answered '$reply'"

answer=$(dns_lookup sandbox.test 10.0.2.3)
[ "$answer" = 127.7.7.7 ] || fail "DNS through 10.0.2.3 answered '$answer'"

wait_until 15 guest_has_ra_address || fail "no fd00::/64 address: $(in_guest ip -o -6 addr)"
wait_until 10 sh -c "nsenter --target $GUEST_PID --net ip -6 route | grep -q '^default via fe80::'" ||
    fail "no IPv6 default route"
body=$(in_guest curl -s -m 10 "http://[fd00::2]:8000/")
[ "$body" = "hello from host" ] || fail "TCP to [fd00::2]:8000 returned '$body'"
assert_kernel_tcp "$WORK/api.sock" 2

assert_confined "$SLIRP_PID" 0000000000000400
expect "nothing was refused loudly" test -z "$(grep -i 'not permitted' "$WORK/slirp.log")"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "SIGTERM exit status $SLIRP_STATUS"
pass "confined; DHCP, TCP, UDP, DNS, IPv6 and SIGTERM work"
