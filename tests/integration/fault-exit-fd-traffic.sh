#!/bin/bash
# Fault: the exit-fd is closed while bulk traffic flows through the daemon.
# It exits 0 within 1 s and removes its API socket.
. "$(dirname "$0")/../lib.sh"

# exit_ms PID SECONDS: waits (polling every 10 ms) for PID to exit; prints
# the milliseconds it took, or fails after SECONDS.
exit_ms() {
    local start=$(date +%s%N) deadline=$((SECONDS + $2))
    while kill -0 "$1" 2>/dev/null; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.01
    done
    echo $((($(date +%s%N) - start) / 1000000))
}

SOCK=$WORK/api.sock
background iperf3 -s -B 127.0.0.1 -p 5201 >/dev/null 2>&1
wait_until 10 port_is_listening 5201 || fail "iperf3 server did not start"
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

exec 5>&-
took_ms=$(exit_ms "$SLIRP_PID" 5) || fail "still running 5 s after the exit-fd closed"
wait "$SLIRP_PID"
status=$?
[ "$status" = 0 ] || fail "exit status $status after the exit-fd closed"
[ "$took_ms" -le 1000 ] || fail "took $took_ms ms to exit (limit 1000)"
[ ! -e "$SOCK" ] || fail "API socket left behind"
pass "exited 0 after $took_ms ms under load, API socket removed"
