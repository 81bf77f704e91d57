#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The gateway (10.0.2.2) reaches a service on the host side's loopback, and
# --disable-host-loopback refuses the same connection (a RST or an ICMP error
# comes back; a timeout does not count).
. "$(dirname "$0")/../lib.sh"

http_server 8000
start_guest
start_slirp -c -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "HTTP through 10.0.2.2 returned '$body'"
assert_kernel_tcp "$WORK/api.sock"
stop_slirp

start_guest
start_slirp -c --disable-host-loopback "$GUEST_PID" tap0 || fail "did not start (disabled)"
# A refusal is an answer: a RST (ECONNREFUSED) or an ICMP error
# (EHOSTUNREACH, ENETUNREACH). A timeout means nothing answered, which a
# hung daemon would also produce; the 60 s bound only guards against a hang.
refusal=$(in_guest python3 -c '
import errno, socket
s = socket.socket()
s.settimeout(60)
try:
    s.connect(("10.0.2.2", 8000))
    print("connected")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
')
case $refusal in
    ECONNREFUSED | EHOSTUNREACH | ENETUNREACH) ;;
    *) fail "with --disable-host-loopback the connection got '$refusal', want a refusal" ;;
esac
kill -0 "$SLIRP_PID" 2>/dev/null || fail "the daemon died"
stop_slirp
pass "reached with loopback allowed, refused with --disable-host-loopback ($refusal)"
