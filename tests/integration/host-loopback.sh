#!/bin/bash
# The gateway (10.0.2.2) reaches a service on the host side's loopback, and
# --disable-host-loopback refuses the same connection.
. "$(dirname "$0")/../lib.sh"

http_server 8000
start_guest
start_slirp -c "$GUEST_PID" tap0 || fail "did not start"
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "HTTP through 10.0.2.2 returned '$body'"
stop_slirp

start_guest
start_slirp -c --disable-host-loopback "$GUEST_PID" tap0 || fail "did not start (disabled)"
in_guest curl -s -m 5 -o /dev/null http://10.0.2.2:8000/
status=$?
# 7: connection refused (libslirp answers with a RST), 28: timed out.
[ "$status" = 7 ] || [ "$status" = 28 ] || fail "with --disable-host-loopback curl exited $status"
stop_slirp
pass "reached with loopback allowed, curl status $status with --disable-host-loopback"
