#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --tcp-path=kernel: guest TCP to the gateway (the host's loopback) and to a
# host beyond it ends in the private namespace's kernel TCP and is spliced
# to host sockets; get_stats shows it. Bytes arrive intact each way with
# half-closes both ways, resets pass both ways, many connections in a row
# and at once, IPv6 as IPv4, a custom CIDR, and --tcp-path=slirp leaves the
# path off.
. "$(dirname "$0")/../lib.sh"
kernel_path_only

PEER=$TESTS_DIR/integration/tcp-peer.py
BYTES=${S4N_KERNEL_TCP_BYTES:-67108864}  # 64 MiB each way

background python3 "$PEER" server 9000 >"$WORK/server.log" 2>&1
background python3 "$PEER" server 9000 ::1 >"$WORK/server6.log" 2>&1
wait_until 10 port_is_listening 9000 || fail "test server did not start"
http_server 8000

start_guest
start_slirp -c -6 -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
expect_not "no fallback line" grep -q "unavailable" "$WORK/slirp.log"

body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "HTTP through 10.0.2.2 returned '$body'"
assert_kernel_tcp "$WORK/api.sock" 1

up=$(in_guest timeout 300 python3 "$PEER" client 10.0.2.2 9000 upload "$BYTES")
[ "$up" = ok ] || fail "upload of $BYTES bytes with a half-close: '$up'"
down=$(in_guest timeout 300 python3 "$PEER" client 10.0.2.2 9000 download "$BYTES")
[ "$down" = sent ] || fail "download of $BYTES bytes with the host half-closing: '$down'"
wait_until 30 grep -q "download ok" "$WORK/server.log" ||
    fail "download of $BYTES bytes: the host side got no matching checksum ($(cat "$WORK/server.log"))"
from=$(stats_field "$WORK/api.sock" kernel_tcp_bytes_from_guest)
to=$(stats_field "$WORK/api.sock" kernel_tcp_bytes_to_guest)
[ "$from" -ge "$BYTES" ] && [ "$to" -ge "$BYTES" ] ||
    fail "get_stats counts $from bytes from and $to to the guest, expected >= $BYTES each"

sent=$(in_guest timeout 30 python3 "$PEER" client 10.0.2.2 9000 reset)
[ "$sent" = sent ] || fail "guest reset client: '$sent'"
wait_until 10 grep -q reset "$WORK/server.log" || fail "the host side did not see the guest's reset"
got=$(in_guest timeout 30 python3 "$PEER" client 10.0.2.2 9000 reset-me)
[ "$got" = reset ] || fail "the guest saw '$got' where the host reset the connection"

# Many in a row (each closes before the next) and many at once.
for i in $(seq 1 200); do
    in_guest curl -s -m 10 -o /dev/null http://10.0.2.2:8000/ || fail "sequential connection $i failed"
done
in_guest sh -c 'for i in $(seq 1 100); do curl -s -m 30 -o /dev/null http://10.0.2.2:8000/ &
    done; wait' || fail "concurrent connections failed"
assert_kernel_tcp "$WORK/api.sock" 300
no_active() { [ "$(stats_field "$WORK/api.sock" kernel_tcp_active)" = 0 ]; }
wait_until 30 no_active ||
    fail "$(stats_field "$WORK/api.sock" kernel_tcp_active) connections still relayed after all closed; host: $(ss -tan | grep -v LISTEN | tail -n +2 | awk '{print $1, $4, $5}' | sort | uniq -c | sort -rn | head -5 | tr '\n' ';')"

# IPv6: the gateway fd00::2 is the host's ::1.
wait_until 15 sh -c "nsenter --target $GUEST_PID --net ip -6 addr show dev tap0 \
    scope global -tentative | grep -q fd00:" || fail "no usable IPv6 address in the guest"
before=$(stats_field "$WORK/api.sock" kernel_tcp_total)
up6=$(in_guest timeout 120 python3 "$PEER" client fd00::2 9000 upload 1048576)
[ "$up6" = ok ] || fail "IPv6 upload through fd00::2: '$up6'"
after=$(stats_field "$WORK/api.sock" kernel_tcp_total)
[ "$after" -gt "$before" ] || fail "the IPv6 connection did not take the kernel path"
stop_slirp

# A custom CIDR: its gateway is the host's loopback through the kernel path.
start_guest
start_slirp -c --cidr=10.99.0.0/25 -a "$WORK/api3.sock" "$GUEST_PID" tap0 ||
    fail "did not start with --cidr"
body=$(in_guest curl -s -m 10 http://10.99.0.2:8000/)
[ "$body" = "hello from host" ] || fail "HTTP through 10.99.0.2 returned '$body'"
assert_kernel_tcp "$WORK/api3.sock" 1
stop_slirp

# --tcp-path=slirp (the default): the same connection, through libslirp.
start_guest
start_slirp -c --tcp-path=slirp -a "$WORK/api2.sock" "$GUEST_PID" tap0 || fail "did not start (slirp)"
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "HTTP through libslirp returned '$body'"
[ "$(stats_field "$WORK/api2.sock" tcp_path)" = slirp ] || fail "--tcp-path=slirp runs the kernel path"
[ "$(stats_field "$WORK/api2.sock" kernel_tcp_total)" = 0 ] || fail "--tcp-path=slirp counted kernel connections"
stop_slirp
pass "gateway and IPv6 through the kernel path, $BYTES bytes each way with half-closes, resets both ways, 300 connections, custom CIDR"
