#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fault: the exit-fd is closed while bulk traffic flows through the daemon.
# It exits 0 within 1 s and removes its API socket.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
iperf3_server 5201
start_guest
mkfifo "$WORK/exit"
exec 5<>"$WORK/exit"
{ start_slirp -c -a "$SOCK" --exit-fd=6 "$GUEST_PID" tap0 6<"$WORK/exit"; } 5>&- || fail "did not start"
# nsenter execs timeout, which passes a SIGTERM on to iperf3: $! is the client.
nsenter --target "$GUEST_PID" --net -- timeout 20 iperf3 -c 10.0.2.2 -p 5201 -t 15 >/dev/null 2>&1 5>&- &
client=$!
BACKGROUND_PIDS+=($client)
sleep 1
kill -0 "$client" 2>/dev/null || fail "iperf3 traffic did not start"
assert_kernel_tcp "$SOCK"

exec 5>&-
took_ms=$(exit_ms "$SLIRP_PID" 30) || fail "still running 30 s after the exit-fd closed"
wait "$SLIRP_PID"
status=$?
[ "$status" = 0 ] || fail "exit status $status after the exit-fd closed"
[ ! -e "$SOCK" ] || fail "API socket left behind"
pass "exited 0 after $took_ms ms under load, API socket removed"
