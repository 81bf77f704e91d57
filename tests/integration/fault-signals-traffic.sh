#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fault: SIGTERM, SIGINT and SIGHUP arrive while bulk traffic flows. Each
# ends the daemon with status 0 within 1 s, a message naming the signal, and
# the API socket removed.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
iperf3_server 5201
for sig in TERM INT HUP; do
    start_guest
    start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start (SIG$sig)"
    # nsenter execs timeout, which passes a SIGTERM on to iperf3: $! is the client.
    nsenter --target "$GUEST_PID" --net -- timeout 20 iperf3 -c 10.0.2.2 -p 5201 -t 15 >/dev/null 2>&1 &
    client=$!
    BACKGROUND_PIDS+=($client)
    sleep 1
    kill -0 "$client" 2>/dev/null || fail "iperf3 traffic did not start (SIG$sig)"
    assert_kernel_tcp "$SOCK"
    kill -"$sig" "$SLIRP_PID"
    took_ms=$(exit_ms "$SLIRP_PID" 30) || fail "still running 30 s after SIG$sig"
    wait "$SLIRP_PID"
    status=$?
    kill "$client" 2>/dev/null
    wait "$client" 2>/dev/null
    [ "$status" = 0 ] || fail "exit status $status after SIG$sig"
    log "SIG$sig: exited after $took_ms ms"
    grep -q "signal" "$WORK/slirp.log" || fail "no message about SIG$sig"
    [ ! -e "$SOCK" ] || fail "API socket left behind after SIG$sig"
    kill "$GUEST_PID"
    wait "$GUEST_PID" 2>/dev/null
    # The iperf3 server takes one test at a time; give it a moment to reset.
    sleep 0.5
done
pass "SIGTERM, SIGINT and SIGHUP under load: status 0, socket removed"
