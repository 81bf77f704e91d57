#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The API never stalls the loop: 100 clients at once are all answered; with
# 50 silent clients connected, an iperf3 run completes and another client's
# list_hostfwd is answered meanwhile (a blocking read on a silent client
# would stall both); the silent clients are dropped after the timeout, not
# before. Throughput with and without them is logged, not judged: figures
# belong to make bench.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
command -v iperf3 >/dev/null || skip "iperf3 is not installed"

start_guest
start_slirp -c --mtu=65520 -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
api "$SOCK" '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":8080,"guest_port":80}}' >/dev/null

answered=$(api concurrent "$SOCK" 100)
[ "$answered" = 100 ] || fail "only $answered of 100 concurrent clients got a list_hostfwd reply"

iperf3_server 5201

# throughput: one 3-second iperf3 run from the guest to the host's loopback, in bits/s.
throughput() {
    in_guest iperf3 -c 10.0.2.2 -p 5201 -t 3 -J |
        python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))'
}

# loaded_run: throughput with 50 silent clients connected throughout, plus the
# latency of a list_hostfwd asked one second in.
loaded_run() {
    python3 "$TESTS_DIR/integration/api-client.py" silent "$SOCK" 50 9 >"$WORK/silent.out" &
    local silent_pid=$!
    wait_until 5 grep -q connected "$WORK/silent.out" || fail "silent clients did not connect"
    local start=$SECONDS
    (sleep 1 && api --time "$SOCK" '{"execute":"list_hostfwd"}' >"$WORK/latency.out") &
    local latency_pid=$!
    LOADED=$(throughput) || fail "iperf3 with silent clients failed"
    wait $latency_pid
    LATENCY=$(tail -n1 "$WORK/latency.out")
    grep -q '"host_port":8080' "$WORK/latency.out" || fail "list_hostfwd under load answered: $(cat "$WORK/latency.out")"
    # The silent clients are still connected: the run fit in the timeout.
    [ $((SECONDS - start)) -lt 5 ] || log "run took $((SECONDS - start)) s; some silent clients may have been dropped during it"
    wait $silent_pid
    DROPPED=$(tail -n1 "$WORK/silent.out")
    DROP_SECONDS=$((SECONDS - start))
}

base=$(throughput) || fail "baseline iperf3 failed"
loaded_run
log "baseline $((base / 1000000)) Mbit/s, with 50 silent clients $((LOADED / 1000000)) Mbit/s, list_hostfwd ${LATENCY} ms"
[ "$LOADED" -gt 0 ] || fail "no traffic got through with the silent clients connected"
[ "$DROPPED" = 50 ] || fail "only $DROPPED of 50 silent clients were dropped (after ${DROP_SECONDS}s)"
# A lower bound only: a loaded machine makes this longer, never shorter.
[ "$DROP_SECONDS" -ge 4 ] || fail "silent clients were dropped too early (${DROP_SECONDS}s)"

stats=$(api "$SOCK" '{"execute":"get_stats"}')
python3 -c '
import json, sys
r = json.loads(sys.argv[1])["return"]
assert r["api_clients_dropped"] >= 50, r
assert r["api_requests"] >= 102, r  # add, 100 concurrent, list' "$stats" || fail "get_stats after the run: $stats"
kill -0 "$SLIRP_PID" || fail "daemon died"
assert_kernel_tcp "$SOCK" 2
pass "100 concurrent clients; $((LOADED / 1000000)) vs $((base / 1000000)) Mbit/s with/without 50 silent clients; list_hostfwd ${LATENCY} ms"
