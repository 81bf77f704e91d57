#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A DNS query to 10.0.2.3 is answered by the resolver in the host side's
# /etc/resolv.conf (dnsmasq on 127.0.0.1), and not answered with --disable-dns.
. "$(dirname "$0")/../lib.sh"

private_dns s4n.test 127.1.2.3
start_guest
start_slirp -c "$GUEST_PID" tap0 || fail "did not start"
answer=$(dns_lookup s4n.test 10.0.2.3)
[ "$answer" = 127.1.2.3 ] || fail "s4n.test via 10.0.2.3 resolved to '$answer'"
stop_slirp

start_guest
start_slirp -c --disable-dns "$GUEST_PID" tap0 || fail "did not start (--disable-dns)"
answer=$(dns_lookup s4n.test 10.0.2.3)
[ -z "$answer" ] || fail "with --disable-dns s4n.test still resolved to '$answer'"
stop_slirp
pass "answered 127.1.2.3, and nothing with --disable-dns"
