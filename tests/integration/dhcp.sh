#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Without -c, busybox udhcpc in the guest leases 10.0.2.15 (the first DHCP
# address), with router 10.0.2.2 and DNS 10.0.2.3.
. "$(dirname "$0")/../lib.sh"

start_guest
start_slirp "$GUEST_PID" tap0 || fail "did not start"
expect "tap0 has no address before DHCP" test -z "$(in_guest ip -o -4 addr show dev tap0)"
line=$(guest_dhcp)
log "$line"
expect "leased 10.0.2.15" grep -q "ip=10.0.2.15 " <<<"$line"
expect "netmask 255.255.255.0" grep -q "mask=24$\|mask=255.255.255.0$" <<<"$line"
expect "router 10.0.2.2" grep -q "router=10.0.2.2" <<<"$line"
expect "DNS 10.0.2.3" grep -q "dns=10.0.2.3" <<<"$line"
stop_slirp
pass "$line"
