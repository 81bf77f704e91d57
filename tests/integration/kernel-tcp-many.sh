#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --tcp-path=kernel with many connections: 10000 in a row and 10000 at once
# (as many as the descriptor limit allows) from one guest process, each echoing its own message through the path, and
# 50 in a row from one guest port (to two ports in turn); afterwards no connection is relayed and the daemon's descriptors are back
# where they were. Then a guest vanishes with 1000 connections open: the
# daemon exits with its message and no sanitizer report, and the host peers'
# sockets end. Last, a guest goes silent with 1000 open: keepalive ends them
# and the descriptors come back.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH
# Thousands of connections at once on each end, plus their listeners.
ulimit -n "$(ulimit -Hn)"

PEER=$TESTS_DIR/integration/tcp-peer.py
SPLICE_PEER=$TESTS_DIR/integration/splice-peer.py
SEQUENTIAL=10000
# 10000 at once, where the descriptor limit allows: each costs the daemon
# two (20000 is this test machine's hard limit, which root cannot raise).
CONCURRENT=$(( ($(ulimit -Hn) - 400) / 2 ))
[ "$CONCURRENT" -gt 10000 ] && CONCURRENT=10000
HOLD=1000
REUSES=50

# splice-peer.py's servers on the host side: 7007 echoes until EOF.
mkdir "$WORK/host"
background python3 "$SPLICE_PEER" serve "$WORK/host"
wait_until 10 test -e "$WORK/host/ready" || fail "echo server did not start"
background python3 "$PEER" server 9000 >"$WORK/server.log" 2>&1
background python3 "$PEER" server 9001 >"$WORK/server2.log" 2>&1
wait_until 10 port_is_listening 9000 || fail "test server did not start"
wait_until 10 port_is_listening 9001 || fail "second test server did not start"

start_guest
start_slirp -c --tcp-path=kernel -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
sock=$WORK/api.sock
in_guest python3 "$SPLICE_PEER" sequential 10.0.2.2 7007 1 || fail "no echo through the kernel path"
no_active() { [ "$(stats_field "$sock" kernel_tcp_active)" = 0 ]; }
wait_until 30 no_active || fail "the first connection is still relayed"
wait_startup_over
fds_before=$(proc_fds "$SLIRP_PID")
total_before=$(stats_field "$sock" kernel_tcp_total)

start=$SECONDS
in_guest timeout 250 python3 "$SPLICE_PEER" sequential 10.0.2.2 7007 $SEQUENTIAL ||
    fail "$SEQUENTIAL sequential connections"
sequential_s=$((SECONDS - start))
start=$SECONDS
in_guest timeout 120 python3 "$SPLICE_PEER" concurrent 10.0.2.2 7007 $CONCURRENT ||
    fail "$CONCURRENT concurrent connections"
concurrent_s=$((SECONDS - start))
log "$SEQUENTIAL sequential connections in $sequential_s s, $CONCURRENT concurrent in $concurrent_s s"
assert_kernel_tcp "$sock" $((total_before + SEQUENTIAL + CONCURRENT))

# The guest reuses its port at once, to one destination port and then
# another of the same address: each time the closed flow makes way for the
# new one, and the private kernel's TIME_WAIT takes the new SYN.
total_before=$(stats_field "$sock" kernel_tcp_total)
start=$SECONDS
same=$(in_guest timeout 120 python3 "$PEER" same-port 10.0.2.2 9000,9001 65536 $REUSES)
[ "$same" = "ok $REUSES" ] || fail "$REUSES connections in a row from one guest port: '$same'"
assert_kernel_tcp "$sock" $((total_before + REUSES))
log "$REUSES connections from one guest port in $((SECONDS - start)) s"

# Every connection was closed by both ends: nothing relayed, and no more
# descriptors than before (spare pipes excepted, at most 8 pairs).
wait_until 60 no_active ||
    fail "$(stats_field "$sock" kernel_tcp_active) connections still relayed after all closed"
fds_back() { [ "$(proc_fds "$SLIRP_PID")" -le $((fds_before + 16)) ]; }
wait_until 60 fds_back ||
    fail "descriptors did not come back: $fds_before before, $(proc_fds "$SLIRP_PID") after"
fds_after=$(proc_fds "$SLIRP_PID")

# hold_connections: the guest opens HOLD connections to the host side's
# 9000, which holds them open.
held() { ss -Htn state established "sport = :9000" | wc -l; }
none_held() { [ "$(held)" = 0 ]; }
hold_connections() {
    in_guest python3 "$PEER" hold 10.0.2.2 9000 $HOLD >"$WORK/hold.out" 2>&1 &
    BACKGROUND_PIDS+=($!)
    wait_until 120 grep -q "holding $HOLD" "$WORK/hold.out" ||
        fail "the guest did not open $HOLD connections: $(cat "$WORK/hold.out")"
    all_held() { [ "$(held)" -ge $HOLD ] && [ "$(stats_field "$sock" kernel_tcp_active)" -ge $HOLD ]; }
    wait_until 30 all_held ||
        fail "host side holds $(held), the daemon relays $(stats_field "$sock" kernel_tcp_active) of $HOLD"
}

# The guest vanishes with 1000 connections open, each held by the host side.
hold_connections
fds_open=$(proc_fds "$SLIRP_PID")
kill_guest
took_ms=$(exit_ms "$SLIRP_PID" 30) || fail "still running 30 s after the guest vanished"
wait "$SLIRP_PID"
status=$?
[ "$status" != 0 ] || fail "exit status 0 after the guest vanished"
message=$(grep -v '^\*\|^Starting' "$WORK/slirp.log" | tail -n 1)
grep -qE "tap0|namespace" <<<"$message" || fail "last message names neither the tap nor the namespace: '$message'"
wait_until 30 none_held || fail "the host side still holds $(held) connections after the daemon exited"
if sanitizer_reports; then fail "a sanitizer report after the guest vanished (above)"; fi
vanished="exit $status after $took_ms ms: $message"

# A guest that goes silent with 1000 connections open (its address gone, so
# it answers nothing: no FIN, no reset): the private kernel's keepalive
# gives the descriptors back. The daemon's setting (60 s, then 6 probes 10 s
# apart) is checked, then shortened on its own sockets to keep the test short.
start_guest
start_slirp -c --tcp-path=kernel -a "$WORK/api2.sock" "$GUEST_PID" tap0 || fail "did not start again"
sock=$WORK/api2.sock
in_guest python3 "$SPLICE_PEER" sequential 10.0.2.2 7007 1 || fail "no echo through the second daemon"
wait_until 30 no_active || fail "the second daemon's first connection is still relayed"
wait_startup_over
fds_before=$(proc_fds "$SLIRP_PID")
hold_connections
in_guest ip addr flush dev tap0
keep=$(python3 "$PEER" keepalive "$SLIRP_PID" 1 1 2)
read -r count settings <<<"$keep"
[ "$count" = "$HOLD:" ] || fail "found '$keep' accepted sockets in the daemon, expected $HOLD"
for setting in $settings; do
    IFS=, read -r on idle interval probes <<<"$setting"
    [ "$on" = 1 ] && [ $((idle + interval * probes)) -le 300 ] ||
        fail "an accepted socket has keepalive on=$on idle=$idle interval=$interval count=$probes"
done
wait_until 60 no_active ||
    fail "$(stats_field "$sock" kernel_tcp_active) connections to the silent guest still relayed"
wait_until 60 fds_back ||
    fail "descriptors did not come back from the silent guest: $fds_before before, $(proc_fds "$SLIRP_PID") now"
wait_until 30 none_held || fail "the host side still holds $(held) connections to the silent guest"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS after SIGTERM"
pass "$SEQUENTIAL sequential (${sequential_s} s) and $CONCURRENT concurrent (${concurrent_s} s) connections, $REUSES from one port, fds $fds_before -> $fds_after; vanished with $HOLD open ($fds_open fds): $vanished; silent with $HOLD open: keepalive ($settings) gave the descriptors back"
